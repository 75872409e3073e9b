module lambda-trace-proxy/stub

go 1.26
