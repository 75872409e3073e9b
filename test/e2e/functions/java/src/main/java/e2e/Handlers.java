package e2e;
public class Handlers {}
