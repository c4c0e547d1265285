#!/usr/bin/env bash
# Demo without a DocSpace portal (`make demo`): builds the exporter and the
# fake portals (cmd/fakedocspace), then starts on 127.0.0.1
#   - fake portals in telling states under /healthy, /overdue, /failed,
#     /unauthorized and /no-schedule, and for the stored-backup history under
#     /not-stored, /no-backups, /many-backups, /slow-history,
#     /history-forbidden, /history-error and /dump,
#   - the exporter with a config file listing them (served on /probe),
#   - Prometheus with the mixin's alerts (mixin/alerts.yaml, every `for:`
#     cut to DEMO_FOR so that they fire within a minute) and the /probe
#     scrape jobs of the README,
#   - Alertmanager, when it is installed,
# prints their URLs and runs until Ctrl-C, then prints the alerts that fire,
# stops everything it started and exits 0. On a terminal, Ctrl-C is read as a key rather than sent as a
# signal to every process of the terminal, so that make, which runs this
# script for `make demo`, ends quietly too; a SIGINT from elsewhere stops
# the demo the same way. Every URL printed answers 200 with something to
# read (scripts/test-demo.sh checks it).
#
# Environment:
#   DEMO_SECONDS=N  stop by itself after N seconds (0, the default: run until Ctrl-C)
#   DEMO_KEY        the key the fake portals accept (default sk-fake; never a real key)
#   DEMO_FOR        the `for:` of every alert (default 15s)
#   DEMO_KEEP=1     keep the folder with the configuration and the logs (printed at the end)
#   GO              the go command (default go)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

demo_seconds=${DEMO_SECONDS:-0}
demo_key=${DEMO_KEY:-sk-fake}
demo_for=${DEMO_FOR:-15s}
demo_keep=${DEMO_KEEP:-0}
go=${GO:-go}
portals=(healthy overdue failed unauthorized no-schedule
	not-stored no-backups many-backups slow-history history-forbidden history-error dump)

if ! [[ $demo_seconds =~ ^[0-9]+$ ]]; then
	echo "demo: DEMO_SECONDS must be a whole number of seconds, got '$demo_seconds'" >&2
	exit 2
fi
if ! [[ $demo_for =~ ^[0-9]+[smh]$ ]]; then
	echo "demo: DEMO_FOR must be a duration such as 15s, got '$demo_for'" >&2
	exit 2
fi
if ! command -v prometheus >/dev/null 2>&1; then
	echo "demo: prometheus is not installed: run 'make deps' (Debian package prometheus)" >&2
	exit 1
fi
alertmanager=$(command -v prometheus-alertmanager || command -v alertmanager || true)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docspace-demo.XXXXXX")
pids=()
names=()
tty_settings=""
prom_url=""

# summary: prints the alerts that fire in Prometheus, one line each.
summary() {
	local firing alert instance
	[[ -n $prom_url ]] || return 0
	firing=$(promtool query instant "$prom_url" 'ALERTS{alertstate="firing"}' 2>/dev/null |
		sed -n 's/.*alertname="\([^"]*\)".*instance="\([^"]*\)".*/\1 \2/p' | sort) || true
	echo
	if [[ -z $firing ]]; then
		echo "demo: no alert fired (an alert fires $demo_for after its condition holds)"
		return 0
	fi
	echo "demo: alerts firing when stopped (alert, portal):"
	while read -r alert instance; do
		printf '  %-34s %s\n' "$alert" "$instance"
	done <<<"$firing"
}

cleanup() {
	local status=$? i
	trap - EXIT INT TERM
	summary
	if ((${#pids[@]})); then
		echo
		echo "demo: stopping ${names[*]}"
		for i in "${!pids[@]}"; do
			kill -TERM "${pids[$i]}" 2>/dev/null || true
		done
		for i in "${!pids[@]}"; do
			# Give each process 10 s to exit cleanly, then kill it.
			for _ in $(seq 1 100); do
				kill -0 "${pids[$i]}" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "${pids[$i]}" 2>/dev/null || true
			wait "${pids[$i]}" 2>/dev/null || true
		done
	fi
	if [[ $demo_keep == 1 ]]; then
		echo "demo: the configuration and the logs are kept in $tmp"
	else
		rm -rf "$tmp"
	fi
	if [[ -n $tty_settings ]]; then
		stty "$tty_settings" 2>/dev/null || true
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 0' INT
trap 'exit 143' TERM

# On a terminal, Ctrl-C becomes a key the main loop reads (ctrl_c_pressed):
# no SIGINT reaches make or the demo's processes. A Ctrl-C typed while the
# demo starts waits in the terminal and stops it as soon as it runs.
if [[ -t 0 ]]; then
	tty_settings=$(stty -g)
	stty -isig -icanon -echo min 0 time 10
fi

# ctrl_c_pressed: waits up to 1 s for a key; true when it is Ctrl-C.
ctrl_c_pressed() {
	local key
	if [[ -z $tty_settings ]]; then
		sleep 1
		return 1
	fi
	key=$(dd bs=1 count=1 2>/dev/null) || true
	[[ $key == $'\x03' ]]
}

# start NAME COMMAND...: runs COMMAND in the background, its output in $tmp/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	pids+=("$!")
	names+=("$name")
}

# free_port BASE: the first port from BASE up on which nothing listens on 127.0.0.1.
free_port() {
	local port=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	echo "$port"
}

# wait_ready NAME URL: waits up to 30 s for URL to answer 200, or shows NAME's log and fails.
wait_ready() {
	local name=$1 url=$2 i
	for i in "${!names[@]}"; do
		[[ ${names[$i]} == "$name" ]] && break
	done
	for _ in $(seq 1 150); do
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			break
		fi
		sleep 0.2
	done
	echo "demo: $name did not come up at $url; its log:" >&2
	tail -n 30 "$tmp/$name.log" >&2
	exit 1
}

echo "demo: building the exporter and the fake portals into $tmp"
"$go" build -o "$tmp/docspace_exporter" .
"$go" build -o "$tmp/fakedocspace" ./cmd/fakedocspace

fake_port=$(free_port 18080)
start fakedocspace "$tmp/fakedocspace" --demo --listen-address="127.0.0.1:$fake_port" --key="$demo_key"
wait_ready fakedocspace "http://127.0.0.1:$fake_port/api/2.0/settings"

printf '%s\n' "$demo_key" >"$tmp/api-key"
chmod 600 "$tmp/api-key"
{
	echo "portals:"
	for p in "${portals[@]}"; do
		echo "  - name: $p"
		echo "    url: http://127.0.0.1:$fake_port/$p"
		echo "    api_key_file: $tmp/api-key"
		if [[ $p == dump ]]; then
			echo "    dump: true"
		fi
	done
} >"$tmp/portals.yml"

exporter_port=$(free_port 19977)
start docspace_exporter "$tmp/docspace_exporter" --config.file="$tmp/portals.yml" \
	--web.listen-address="127.0.0.1:$exporter_port"
wait_ready docspace_exporter "http://127.0.0.1:$exporter_port/-/ready"

alerting=""
if [[ -n $alertmanager ]]; then
	am_port=$(free_port 19093)
	cat >"$tmp/alertmanager.yml" <<-EOF
		route:
		  receiver: demo
		  group_by: [alertname, instance]
		  group_wait: 10s
		receivers:
		  - name: demo
	EOF
	mkdir "$tmp/alertmanager-data"
	start alertmanager "$alertmanager" --config.file="$tmp/alertmanager.yml" \
		--storage.path="$tmp/alertmanager-data" --web.listen-address="127.0.0.1:$am_port" \
		--web.external-url="http://127.0.0.1:$am_port" --cluster.listen-address=
	wait_ready alertmanager "http://127.0.0.1:$am_port/-/ready"
	alerting="alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$am_port']"
fi

# The mixin's alerts with every `for:` cut to DEMO_FOR, as the e2e tests do.
sed -E "s/^( +for: ).*/\1$demo_for/" mixin/alerts.yaml >"$tmp/alerts.yaml"

prom_port=$(free_port 19090)
targets=$(printf '%s, ' "${portals[@]}")
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
  scrape_timeout: 5s
  evaluation_interval: 5s
rule_files: ['$tmp/alerts.yaml']
$alerting
scrape_configs:
  - job_name: docspace
    metrics_path: /probe
    static_configs:
      - targets: [${targets%, }]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: '127.0.0.1:$exporter_port'
  - job_name: docspace_exporter
    static_configs:
      - targets: ['127.0.0.1:$exporter_port']
EOF
mkdir "$tmp/prometheus-data"
start prometheus prometheus --config.file="$tmp/prometheus.yml" \
	--storage.tsdb.path="$tmp/prometheus-data" --web.listen-address="127.0.0.1:$prom_port"
wait_ready prometheus "http://127.0.0.1:$prom_port/-/ready"
prom_url=http://127.0.0.1:$prom_port
# Debian's Prometheus has only the classic web UI, under /classic/.
prom_ui=http://127.0.0.1:$prom_port
if ! curl -fsS -o /dev/null --max-time 2 "$prom_ui/targets" 2>/dev/null &&
	curl -fsS -o /dev/null --max-time 2 "$prom_ui/classic/targets" 2>/dev/null; then
	prom_ui=$prom_ui/classic
fi

exporter=http://127.0.0.1:$exporter_port
cat <<EOF

DocSpace exporter demo (configuration and logs in $tmp):
  exporter          $exporter/   (every portal, with links to its metrics and debug page)
  probe a portal    $exporter/probe?target=overdue
  its debug page    $exporter/probe?target=overdue&debug=true
  exporter metrics  $exporter/metrics   (the exporter's own: the portals are on /probe)
  Prometheus        $prom_ui/targets
                    $prom_ui/alerts
EOF
if [[ -n $alertmanager ]]; then
	echo "  Alertmanager      http://127.0.0.1:$am_port/#/alerts"
else
	echo "  (Alertmanager is not installed: 'make deps' installs it)"
fi
echo "  fake portals (each URL says what the portal is; key: $demo_key)"
for p in "${portals[@]}"; do
	printf '    %-18s http://127.0.0.1:%s/%s\n' "$p" "$fake_port" "$p"
done
cat <<EOF

The alerts of mixin/alerts.yaml fire within a minute: their 'for:' is $demo_for
here (DEMO_FOR), not the mixin's 5m to 3h. Expect DocSpaceBackupOverdue (overdue),
DocSpaceBackupFailed (failed), DocSpaceAPIDown (unauthorized),
DocSpaceBackupScheduleMissing (no-schedule), DocSpaceBackupNotStored (not-stored,
no-backups) and DocSpaceBackupHistoryStale (history-forbidden, history-error: they
show docspace_collector_success{collector="history"} 0). The history of slow-history
arrives after 60 s.
On stopping, the demo lists the alerts that fire.
EOF
if [[ $demo_keep == 1 ]]; then
	echo "DEMO_KEEP=1: $tmp is kept when the demo stops."
fi
if ((demo_seconds > 0)); then
	echo "Stopping by itself after $demo_seconds s (DEMO_SECONDS); Ctrl-C stops earlier."
else
	echo "Press Ctrl-C to stop."
fi

end=$((SECONDS + demo_seconds))
while ((demo_seconds == 0 || SECONDS < end)); do
	for i in "${!pids[@]}"; do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			echo "demo: ${names[$i]} stopped unexpectedly; its log:" >&2
			tail -n 30 "$tmp/${names[$i]}.log" >&2
			exit 1
		fi
	done
	if ctrl_c_pressed; then
		break
	fi
done
