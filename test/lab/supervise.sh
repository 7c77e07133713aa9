#!/bin/bash
# Host side of one lab appliance: runs its PID 1 (boot.sh) in fresh mount, UTS and PID namespaces
# (plus the appliance's network namespace when it has one) and starts it again after a "reboot"
# (boot.sh exits 77). TERM stops the appliance: killing its PID 1 ends every process inside, and
# the namespace's mounts go with it.
#   supervise.sh APPLIANCE_DIR
set -u
dir=$1
here=$(cd "$(dirname "$0")" && pwd)
init=""
stop() {
  [ -n "$init" ] && kill -TERM "$init" 2>/dev/null
  for _ in $(seq 50); do [ -n "$init" ] && kill -0 "$init" 2>/dev/null || break; sleep 0.1; done
  [ -n "$init" ] && kill -KILL "$init" 2>/dev/null
  rm -f "$dir/init.pid"
  exit 0
}
trap stop TERM INT HUP
# A networked appliance runs inside the network namespace the lab made for it (network.ts). It is
# entered with nsenter, which execs unshare in place ($! stays unshare's PID): unshare's own
# --net=FILE would create a new, empty namespace and bind it over FILE.
enter=()
[ -s "$dir/netns" ] && enter=(nsenter --net="/run/netns/$(cat "$dir/netns")" --)
while :; do
  "${enter[@]}" unshare --mount --uts --pid --fork --mount-proc --propagation private \
    -- env --default-signal=INT,QUIT /bin/bash "$here/boot.sh" "$dir" &
  outer=$!
  init=""
  for _ in $(seq 500); do
    init=$(cat "/proc/$outer/task/$outer/children" 2>/dev/null | tr -d ' ')
    [ -n "$init" ] && break
    sleep 0.01
  done
  echo "$init" > "$dir/init.pid"
  wait "$outer"
  rc=$?
  [ "$rc" -eq 77 ] || break
  echo "lab: $(basename "$dir") rebooting" >&2
done
rm -f "$dir/init.pid"
