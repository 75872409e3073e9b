# Sourced by rie.sh and e2e.sh once they run inside their own mount + network namespaces
# (unshare --mount --net ... --propagation private): the view of the machine that RIE and the
# function get.
#
#   private_mounts <layer dir> [<path to keep visible> ...]
#
# - brings the namespace's loopback interface up (the only interface: nothing outside is reachable);
# - bind-mounts the layer read-only on /opt, as Lambda does (RIE looks for extensions in
#   /opt/extensions only; our wrapper is /opt/wrapper-script.sh);
# - mounts a private tmpfs (512 MB, as in Lambda) on /tmp: our wrapper writes
#   /tmp/.lambda-trace-proxy-<port>.instance, which must not meet another test's. Paths given that
#   live under /tmp (the repo, a logs directory: CI may clone under /tmp) are bound back in place;
# - puts sandbox.localdomain (and sandbox) in the hosts file, as Lambda's environment has its own
#   name there: the Telemetry API delivers to it, and the extension (the standalone layers' launcher,
#   else Node) listens where it resolves. Here that is loopback, the namespace's only interface.
private_mounts() {
  local layer="$1"; shift
  ip link set lo up
  mount --bind "$layer" /opt
  mount -o remount,bind,ro /opt
  local keep=() fds=() p fd i
  for p in "$@"; do case "$p/" in /tmp/*) keep+=("$p") ;; esac; done
  for p in "${keep[@]+"${keep[@]}"}"; do exec {fd}<"$p"; fds+=("$fd"); done
  mount -t tmpfs -o size=512m,mode=1777 tmpfs /tmp
  for i in "${!fds[@]}"; do
    mkdir -p "${keep[$i]}"
    # The directory as opened before the tmpfs hid it: /proc/$$ (bash opens {fd} close-on-exec,
    # mount does not inherit it), and --no-canonicalize, or mount resolves the link to its path
    # name, which now names the new, empty directory.
    mount --no-canonicalize --bind "/proc/$$/fd/${fds[$i]}" "${keep[$i]}"
  done
  mkdir -p /tmp/.namespace
  { cat /etc/hosts; echo '127.0.0.1 sandbox.localdomain sandbox'; } >/tmp/.namespace/hosts
  mount --bind /tmp/.namespace/hosts /etc/hosts
}

# wait_http <url> <seconds> <name> <pid> <log>: until any HTTP answer comes; fails when the
# process exits first or the time is up.
wait_http() {
  local deadline=$((SECONDS + $2))
  until curl -s -o /dev/null --max-time 1 "$1"; do
    kill -0 "$4" 2>/dev/null || { echo "$3 exited before answering at $1 (log: $5)" >&2; tail -n 20 "$5" >&2; return 1; }
    [ $SECONDS -lt $deadline ] || { echo "$3 did not answer at $1 within $2 s (log: $5)" >&2; tail -n 20 "$5" >&2; return 1; }
    sleep 0.1
  done
}
