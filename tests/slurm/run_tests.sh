#!/usr/bin/env bash
# Slurm tests: brings up the two-node test cluster (cluster.sh), submits the job scripts of
# job_scripts/ through sbatch, checks what they produce, and tears the cluster down on any exit.
#
#   tests/slurm/run_tests.sh BUILD_DIR [CASE...]     CASE: cluster single_job sweep resume requeue
#                                                    study shipped_8ranks (default: all)
#   tests/slurm/run_tests.sh BUILD_DIR --up          bring the cluster up and leave it running
#   tests/slurm/run_tests.sh BUILD_DIR --shared CASE...   run cases on the running cluster
#   tests/slurm/run_tests.sh BUILD_DIR --down        tear it down
#
# ctest brings the cluster up once (slurm.cluster_up, a FIXTURES_SETUP), runs each case with
# --shared and tears it down after the last (slurm.cluster_down, FIXTURES_CLEANUP). A shared case
# starts from a clean cluster: no job in the queue (what a case leaves there, it only can when
# it failed, is cancelled and logged) and both nodes idle; a cluster that is not running or not
# idle is restarted first (logged). Exit 0 when every case passes, 1 when one fails, 77 (ctest
# SKIP_RETURN_CODE) when the Slurm or munge binaries are absent. Work files go to
# BUILD_DIR/slurm-tests/<case>/ (kept for inspection, wiped at the start of the case), the
# cluster's state to BUILD_DIR/slurm-cluster.
set -uo pipefail
# shellcheck disable=SC2317  # case_* functions and traps are called indirectly

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="${1:?usage: run_tests.sh BUILD_DIR [CASE...]}"
shift
BUILD="$(cd "$BUILD" && pwd)"
MODE=own  # own: up, cases, down; shared: cases on the running cluster; up; down
case "${1:-}" in
  --up) MODE=up ;;
  --down) MODE=down ;;
  --shared) MODE=shared; shift ;;
esac
CASES=("$@")
((${#CASES[@]})) || CASES=(cluster single_job sweep resume requeue study shipped_8ranks)

for b in munged slurmctld slurmd sbatch squeue scancel scontrol mpirun python3; do
  if ! command -v "$b" >/dev/null 2>&1; then
    echo "SKIP: $b not found; the Slurm tests need slurmctld slurmd slurm-client munge openmpi-bin (scripts/setup.sh installs them)"
    exit 77
  fi
done
# The Debian python3-h5py lives in /usr/bin/python3; a python3 earlier on PATH may lack it.
PYTHON=""
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import h5py' 2>/dev/null; then PYTHON="$p"; break; fi
done
if [[ -z "$PYTHON" ]]; then
  echo "SKIP: no python3 with h5py (Debian python3-h5py; scripts/setup.sh installs it)"
  exit 77
fi

BIN="$BUILD/bin/moebench"
[[ -x "$BIN" ]] || { echo "FAIL: $BIN not built (ninja -C $BUILD moebench)"; exit 1; }
SUITES_DIR="$HERE/suites"
H5CHECK="$HERE/h5check.py"
CLUSTER_STATE="$BUILD/slurm-cluster"

export MOEB_SLURM_DIR="$CLUSTER_STATE"
export SLURM_CONF="$CLUSTER_STATE/slurm.conf"
# Job-script variables for this cluster (docs/SLURM.md): two slurmd share one host, so Open MPI's
# shared-memory transport (vader) must stay off; TCP over loopback only.
export MOEBENCH="$BIN" MPI_NET=loopback OMPI_BTL=self,tcp CPU_BIND=none
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
# Four ranks on two real cores: ranks must yield while they wait, or progress crawls.
export OMPI_MCA_mpi_yield_when_idle=1 OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset SLURM_JOB_ID SLURM_JOBID SLURM_NODELIST SLURM_JOB_NODELIST LAUNCHER RESUME OUTPUT SYSTEM STRATEGIES

cleanup() { "$HERE/cluster.sh" down "$CLUSTER_STATE" >/dev/null 2>&1 || true; }
# The jobs still queued on the cluster (pending, running or completing), one id per line.
queued_jobs() { squeue -h -o %A 2>/dev/null | sort -u; }
# Shared cluster: cancels what a case left in the queue, so that the next one starts clean.
cancel_leftovers() {
  local jobs i
  jobs="$(queued_jobs | tr '\n' ' ')"
  [[ -n "${jobs// /}" ]] || return 0
  # shellcheck disable=SC2086
  scancel $jobs 2>/dev/null
  for ((i = 0; i < 120; i++)); do
    [[ -z "$(queued_jobs)" ]] && return 0
    sleep 0.5
  done
}
if [[ $MODE == own ]]; then
  trap cleanup EXIT
elif [[ $MODE == shared ]]; then
  trap cancel_leftovers EXIT
fi
trap 'exit 1' INT TERM

log() { echo "[slurm-test] $*"; }
FAILED=0
fail() { echo "FAIL [$CASE]: $*"; FAILED=1; return 1; }

# wait_job ID TIMEOUT_S: waits until the job (all array tasks) left the queue; prints its state.
wait_job() {
  local id="$1" timeout_s="$2" i
  for ((i = 0; i < timeout_s * 2; i++)); do
    [[ -z "$(squeue -h -j "$id" -o %A 2>/dev/null)" ]] && break
    sleep 0.5
  done
  if [[ -n "$(squeue -h -j "$id" -o %A 2>/dev/null)" ]]; then
    scancel "$id" 2>/dev/null
    echo "TIMEOUT"
    return
  fi
  scontrol show job "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort -u | tr '\n' ' ' | sed 's/ $//'
}

show_logs() { local f; for f in "$@"; do [[ -f "$f" ]] && { echo "---- $f"; tail -n 40 "$f"; }; done; }

# Runs `moebench validate FILE`; fails the case with its output otherwise.
validate() {
  local out
  out="$("$BIN" validate "$1" 2>&1)" || { echo "$out"; fail "moebench validate $1 failed"; return 1; }
}

# ---- case: the test cluster itself: two nodes run tasks; down stops exactly its processes ----
case_cluster() {
  local out pids=() f pid
  "$HERE/cluster.sh" status "$CLUSTER_STATE" >"$WORK/status.out" 2>&1 || { cat "$WORK/status.out"; fail "cluster.sh status says not running"; return; }
  out="$(srun --nodes=2 --ntasks-per-node=2 printenv SLURMD_NODENAME 2>&1 | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')"
  [[ "$out" == "node1x2 node2x2 " ]] || { fail "srun -N2 --ntasks-per-node=2 ran on '$out', expected node1x2 node2x2"; return; }
  for f in "$CLUSTER_STATE"/run/*.pid; do pids+=("$(tr -dc '0-9' <"$f")"); done
  ((${#pids[@]} == 4)) || { fail "expected 4 pid files (munged, slurmctld, 2 slurmd), found ${#pids[@]}"; return; }
  "$HERE/cluster.sh" down "$CLUSTER_STATE" >/dev/null || { fail "cluster.sh down failed"; return; }
  for pid in "${pids[@]}"; do
    [[ ! -d "/proc/$pid" ]] || { fail "process $pid ($(cat "/proc/$pid/comm")) still alive after down"; return; }
  done
  compgen -G "$CLUSTER_STATE/run/*.pid" >/dev/null && { fail "pid files left after down"; return; }
  "$HERE/cluster.sh" up "$CLUSTER_STATE" >/dev/null || { fail "cluster did not come up again"; return; }
  log "srun on node1 and node2 ($out); down stopped its 4 processes; up again"
}

# ---- case: one suite on 2 nodes x 2 tasks through moebench.sbatch ---------------------------
case_single_job() {
  local suite="$SUITES_DIR/slurm_small.toml" id state file direct
  id="$(RESULTS_DIR="$WORK" sbatch --parsable --nodes=2 --ntasks-per-node=2 \
    --output="$WORK/job-%j.out" "$ROOT/job_scripts/moebench.sbatch" "$suite")" || { fail "sbatch refused the job"; return; }
  log "submitted job $id"
  state="$(wait_job "$id" 300)"
  file="$WORK/slurm_small-$id.h5"
  [[ "$state" == COMPLETED ]] || { show_logs "$WORK/job-$id.out"; fail "job $id ended $state, expected COMPLETED"; return; }
  [[ -f "$file" ]] || { fail "results file $file missing (named by job id)"; return; }
  validate "$file" || return
  local jid nodelist nnodes
  jid="$("$PYTHON" "$H5CHECK" attr "$file" slurm_job_id)" || { fail "slurm_job_id absent from $file"; return; }
  nodelist="$("$PYTHON" "$H5CHECK" attr "$file" slurm_job_nodelist)" || { fail "slurm_job_nodelist absent from $file"; return; }
  nnodes="$("$PYTHON" "$H5CHECK" attr "$file" slurm_nnodes 2>/dev/null || echo '?')"
  [[ "$jid" == "$id" ]] || { fail "slurm_job_id is '$jid', expected '$id'"; return; }
  [[ "$nodelist" == "node[1-2]" ]] || { fail "slurm_job_nodelist is '$nodelist', expected 'node[1-2]'"; return; }
  log "file holds slurm_job_id=$jid slurm_job_nodelist=$nodelist slurm_nnodes=$nnodes"
  # The same suite straight from mpirun, outside Slurm: byte counts must be identical.
  direct="$WORK/direct.h5"
  (cd "$WORK" && env -u OMPI_MCA_btl mpirun -np 4 --oversubscribe "$BIN" run "$suite" -o "$direct" >"$WORK/direct.out" 2>&1) \
    || { show_logs "$WORK/direct.out"; fail "direct mpirun run failed"; return; }
  "$PYTHON" "$H5CHECK" counts-equal "$file" "$direct" || { fail "byte counts of the sbatch run differ from the direct mpirun run"; return; }
}

# ---- case: 3-task job array (sweep.sbatch, mpirun launcher), then moebench report ----------
case_sweep() {
  local id state files n
  id="$(SUITES="$SUITES_DIR/slurm_small.toml" STRATEGIES="baseline,round_robin,eplb" \
    LAUNCHER=mpirun RESULTS_DIR="$WORK" \
    sbatch --parsable --array="$(SUITES=x STRATEGIES="baseline,round_robin,eplb" "$ROOT/job_scripts/sweep.sbatch" --array-spec)" \
    --nodes=2 --ntasks-per-node=2 --output="$WORK/sweep-%A_%a.out" "$ROOT/job_scripts/sweep.sbatch")" \
    || { fail "sbatch refused the array"; return; }
  log "submitted array $id"
  state="$(wait_job "$id" 600)"
  [[ "$state" == COMPLETED ]] || { show_logs "$WORK"/sweep-*.out; fail "array $id ended '$state', expected every task COMPLETED"; return; }
  mapfile -t files < <(ls "$WORK/sweep-$id"/*.h5 2>/dev/null)
  n=${#files[@]}
  ((n == 3)) || { ls -R "$WORK"; fail "expected 3 results files in $WORK/sweep-$id, found $n"; return; }
  local expect f
  for expect in slurm_small-baseline-0.h5 slurm_small-round_robin-1.h5 slurm_small-eplb-2.h5; do
    [[ -f "$WORK/sweep-$id/$expect" ]] || { fail "missing $expect"; return; }
  done
  for f in "${files[@]}"; do validate "$f" || return; done
  "$BIN" report "${files[@]}" -o "$WORK/report.md" >"$WORK/report.out" 2>&1 \
    || { show_logs "$WORK/report.out"; fail "moebench report over the sweep failed"; return; }
  for expect in baseline round_robin eplb; do
    grep -q "$expect" "$WORK/report.md" || { show_logs "$WORK/report.md"; fail "report lacks strategy $expect"; return; }
  done
  log "3 files, report: $WORK/report.md"
}

# ---- case: scancel --signal=TERM mid-run, then resume --------------------------------------
case_resume() {
  local suite="$SUITES_DIR/slurm_resume.toml" out="$WORK/resume.h5" id state i
  local planned=(baseline round_robin eplb tacg) first_id
  id="$(OUTPUT="$out" sbatch --parsable --nodes=2 --ntasks-per-node=2 --output="$WORK/first-%j.out" \
    "$ROOT/job_scripts/moebench.sbatch" "$suite")" || { fail "sbatch refused the job"; return; }
  log "submitted job $id; waiting for its first finished strategy"
  for ((i = 0; i < 600; i++)); do
    if [[ -f "$out" ]] && "$PYTHON" "$H5CHECK" strategies "$out" 2>/dev/null | grep -q ' complete$'; then break; fi
    [[ -n "$(squeue -h -j "$id" -o %A 2>/dev/null)" ]] || break
    sleep 0.5
  done
  [[ -n "$(squeue -h -j "$id" -o %A 2>/dev/null)" ]] || { show_logs "$WORK/first-$id.out"; fail "job $id ended before it could be cancelled mid-run"; return; }
  scancel --signal=TERM "$id"
  log "sent SIGTERM to job $id after: $("$PYTHON" "$H5CHECK" strategies "$out" | tr '\n' ';')"
  state="$(wait_job "$id" 300)"
  [[ "$state" == FAILED ]] || { show_logs "$WORK/first-$id.out"; fail "interrupted job ended '$state', expected FAILED (non-zero exit)"; return; }
  grep -qi 'interrupt' "$WORK/first-$id.out" || { show_logs "$WORK/first-$id.out"; fail "job output does not say the run was interrupted"; return; }
  local root_status listing done_before=() s st
  root_status="$("$PYTHON" "$H5CHECK" attr "$out" status)"
  [[ "$root_status" == interrupted ]] || { fail "root status after SIGTERM is '$root_status', expected interrupted"; return; }
  listing="$("$PYTHON" "$H5CHECK" strategies "$out")"
  log "after SIGTERM: $(tr '\n' ';' <<<"$listing")"
  grep -q ' interrupted$' <<<"$listing" || { fail "no strategy marked interrupted"; return; }
  declare -A print_before=()
  while read -r s st; do
    if [[ "$st" == complete ]]; then
      done_before+=("$s")
      print_before[$s]="$("$PYTHON" "$H5CHECK" fingerprint "$out" "$s")"
    fi
  done <<<"$listing"
  ((${#done_before[@]} >= 1 && ${#done_before[@]} < ${#planned[@]})) \
    || { fail "expected 1..$((${#planned[@]} - 1)) finished strategies before the resume, got ${#done_before[@]}"; return; }

  first_id="$id"
  # A new job over the same file without RESUME: the script refuses to touch it.
  id="$(OUTPUT="$out" sbatch --parsable --nodes=2 --ntasks-per-node=2 --output="$WORK/refused-%j.out" \
    "$ROOT/job_scripts/moebench.sbatch" "$suite")" || { fail "sbatch refused the job"; return; }
  state="$(wait_job "$id" 120)"
  [[ "$state" == FAILED ]] && grep -q 'already exists' "$WORK/refused-$id.out" \
    || { show_logs "$WORK/refused-$id.out"; fail "a job over an existing results file without RESUME ended '$state', expected a refusal"; return; }
  [[ "$("$PYTHON" "$H5CHECK" attr "$out" status)" == interrupted ]] || { fail "the refused job changed $out"; return; }
  # Resubmitted with RESUME=FILE: the job script passes --resume FILE.
  id="$(OUTPUT="$out" RESUME="$out" sbatch --parsable --nodes=2 --ntasks-per-node=2 --output="$WORK/second-%j.out" \
    "$ROOT/job_scripts/moebench.sbatch" "$suite")" || { fail "sbatch refused the resume job"; return; }
  log "submitted resume job $id"
  state="$(wait_job "$id" 600)"
  [[ "$state" == COMPLETED ]] || { show_logs "$WORK/second-$id.out"; fail "resume job ended '$state', expected COMPLETED"; return; }
  grep -q -- "--resume $out" "$WORK/second-$id.out" || { fail "the job script did not pass --resume"; return; }
  validate "$out" || return
  listing="$("$PYTHON" "$H5CHECK" strategies "$out")"
  local expected
  expected="$(printf '%s complete\n' "${planned[@]}")"
  [[ "$listing" == "$expected" ]] || { fail "final file lists '$(tr '\n' ';' <<<"$listing")', expected each of ${planned[*]} once, complete, in order"; return; }
  for s in "${done_before[@]}"; do
    [[ "$("$PYTHON" "$H5CHECK" fingerprint "$out" "$s")" == "${print_before[$s]}" ]] \
      || { fail "strategy $s finished before the SIGTERM but its measurements changed: it was run again"; return; }
    [[ "$("$PYTHON" "$H5CHECK" note "$out" "$s" measured_slurm_job_id)" == "$first_id" ]] \
      || { fail "carried-over strategy $s does not name job $first_id as the one that measured it"; return; }
  done
  root_status="$("$PYTHON" "$H5CHECK" attr "$out" status)"
  [[ "$root_status" == complete ]] || { fail "root status after resume is '$root_status'"; return; }
  log "resumed: ${done_before[*]} kept as they were, the rest run once"
}

# ---- case: mpirun launcher, stop through the batch shell (what --signal=B:USR1 does ahead of the
# time limit) with REQUEUE_ON_STOP=1: the job requeues itself, keeps its id, and when it starts
# again the script resumes its own file
case_requeue() {
  local suite="$SUITES_DIR/slurm_resume.toml" id state i out s st listing info
  local planned=(baseline round_robin eplb tacg)
  id="$(REQUEUE_ON_STOP=1 LAUNCHER=mpirun RESULTS_DIR="$WORK" sbatch --parsable --requeue \
    --nodes=2 --ntasks-per-node=2 --output="$WORK/job-%j.out" "$ROOT/job_scripts/moebench.sbatch" "$suite")" \
    || { fail "sbatch refused the job"; return; }
  out="$WORK/slurm_resume-$id.h5"
  log "submitted job $id (mpirun launcher, REQUEUE_ON_STOP=1); waiting for its first finished strategy"
  for ((i = 0; i < 600; i++)); do
    if [[ -f "$out" ]] && "$PYTHON" "$H5CHECK" strategies "$out" 2>/dev/null | grep -q ' complete$'; then break; fi
    [[ -n "$(squeue -h -j "$id" -o %A 2>/dev/null)" ]] || break
    sleep 0.5
  done
  [[ -n "$(squeue -h -j "$id" -o %A 2>/dev/null)" ]] || { show_logs "$WORK/job-$id.out"; fail "job $id ended before it could be stopped mid-run"; return; }
  scancel --batch --signal=USR1 "$id"
  for ((i = 0; i < 600; i++)); do
    info="$(scontrol show job "$id" 2>/dev/null)"
    [[ "$info" == *Restarts=1* && "$info" == *JobState=PENDING* ]] && break
    sleep 0.5
  done
  [[ "$info" == *Restarts=1* && "$info" == *JobState=PENDING* ]] \
    || { show_logs "$WORK/job-$id.out"; fail "job $id did not requeue itself after SIGUSR1: $(grep -o 'JobState=[A-Z]*' <<<"$info")"; return; }
  [[ "$("$PYTHON" "$H5CHECK" attr "$out" status)" == interrupted ]] || { show_logs "$WORK/job-$id.out"; fail "root status is not interrupted after SIGUSR1"; return; }
  listing="$("$PYTHON" "$H5CHECK" strategies "$out")"
  log "after SIGUSR1 to the batch shell, job requeued: $(tr '\n' ';' <<<"$listing")"
  declare -A print_before=()
  while read -r s st; do
    [[ "$st" != complete ]] || print_before[$s]="$("$PYTHON" "$H5CHECK" fingerprint "$out" "$s")"
  done <<<"$listing"
  ((${#print_before[@]} >= 1)) || { fail "no finished strategy before the requeue"; return; }
  scontrol update jobid="$id" StartTime=now >/dev/null 2>&1  # requeued jobs wait 120 s otherwise
  state="$(wait_job "$id" 600)"
  [[ "$state" == COMPLETED ]] || { show_logs "$WORK/job-$id.out"; fail "requeued job ended '$state', expected COMPLETED"; return; }
  grep -q -- "--resume $out" "$WORK/job-$id.out" || { show_logs "$WORK/job-$id.out"; fail "the requeued job did not resume its own file"; return; }
  validate "$out" || return
  listing="$("$PYTHON" "$H5CHECK" strategies "$out")"
  [[ "$listing" == "$(printf '%s complete\n' "${planned[@]}")" ]] || { fail "final file lists '$(tr '\n' ';' <<<"$listing")'"; return; }
  for s in "${!print_before[@]}"; do
    [[ "$("$PYTHON" "$H5CHECK" fingerprint "$out" "$s")" == "${print_before[$s]}" ]] || { fail "strategy $s was run again after the requeue"; return; }
  done
  log "job $id requeued itself and resumed its own file; ${!print_before[*]} not run again"
}

# ---- case: interconnect study over two partitions, dependent report job --------------------
case_study() {
  local out rid dir
  out="$(STUDY_DIR="$WORK/study" SBATCH_ARGS="--nodes=2 --ntasks-per-node=2" \
    "$ROOT/job_scripts/interconnect_study.sh" "$SUITES_DIR/slurm_small.toml" \
    'lo-debug:debug' 'lo-alt-tcp:alt:OMPI_MCA_btl=self,tcp UCX_TLS=tcp,self' 2>&1)" \
    || { echo "$out"; fail "interconnect_study.sh failed"; return; }
  echo "$out"
  rid="$(sed -n 's/.*report -> job \([0-9]*\).*/\1/p' <<<"$out")"
  [[ -n "$rid" ]] || { fail "no report job id in the script's output"; return; }
  dir="$WORK/study"
  local state
  state="$(wait_job "$rid" 600)"
  [[ "$state" == COMPLETED ]] || { show_logs "$dir"/*.out; fail "report job $rid ended '$state'"; return; }
  local label
  for label in lo-debug lo-alt-tcp; do
    validate "$dir/$label.h5" || return
    [[ "$("$PYTHON" "$H5CHECK" attr "$dir/$label.h5" system)" == "$label" ]] || { fail "$label.h5 has system '$("$PYTHON" "$H5CHECK" attr "$dir/$label.h5" system)'"; return; }
    grep -q "$label" "$dir/report.md" || { show_logs "$dir/report.md"; fail "report lacks column $label"; return; }
  done
  [[ "$("$PYTHON" "$H5CHECK" attr "$dir/lo-alt-tcp.h5" slurm_job_partition)" == alt ]] || { fail "lo-alt-tcp did not run in partition alt"; return; }
  log "two systems and a dependent report: $dir/report.md"
}

# ---- case: a shipped suite at 8 ranks on 2 nodes x 4, nodes and label from the allocation ----
case_shipped_8ranks() {
  local suite="$ROOT/suites/comparison.toml" id state file v
  id="$(RESULTS_DIR="$WORK" sbatch --parsable --nodes=2 --ntasks-per-node=4 \
    --output="$WORK/job-%j.out" "$ROOT/job_scripts/moebench.sbatch" "$suite" --iterations 1 --warmup 0)" \
    || { fail "sbatch refused the job"; return; }
  log "submitted job $id (suites/comparison.toml, 2 nodes x 4 tasks)"
  state="$(wait_job "$id" 600)"
  file="$WORK/comparison-$id.h5"
  [[ "$state" == COMPLETED ]] || { show_logs "$WORK/job-$id.out"; fail "job $id ended $state, expected COMPLETED"; return; }
  validate "$file" || return
  v="$("$PYTHON" "$H5CHECK" attr "$file" num_ranks)"; [[ "$v" == 8 ]] || { fail "num_ranks is '$v', expected 8"; return; }
  v="$("$PYTHON" "$H5CHECK" attr "$file" num_nodes)"; [[ "$v" == 2 ]] || { fail "num_nodes is '$v', expected 2 (the allocation's)"; return; }
  v="$("$PYTHON" "$H5CHECK" attr "$file" system)"; [[ "$v" == moebtest ]] || { fail "system is '$v', expected the Slurm cluster name moebtest"; return; }
  log "comparison.toml at 8 ranks: 2 nodes from the allocation, system label moebtest"
}

bring_up() {
  log "bringing up the test cluster in $CLUSTER_STATE"
  "$HERE/cluster.sh" down "$CLUSTER_STATE" >/dev/null 2>&1 || true
  "$HERE/cluster.sh" up "$CLUSTER_STATE" || { echo "FAIL: test cluster did not come up"; exit 1; }
}

# Both nodes idle in sinfo (each node is listed once per partition).
nodes_idle() {
  [[ "$(sinfo -h -N -o '%N %t' 2>/dev/null | sort -u | grep -c -E '^node[12] idle$')" == 2 ]]
}

# Shared cluster, before a case: the queue empty (what an earlier case left is cancelled) and
# both nodes idle; a cluster that is down or not idle is restarted.
clean_start() {
  local left
  left="$(queued_jobs | tr '\n' ' ')"
  if [[ -n "${left// /}" ]]; then
    log "cancelling jobs left on the cluster: $left"
    cancel_leftovers
  fi
  if ! "$HERE/cluster.sh" status "$CLUSTER_STATE" >/dev/null 2>&1 || ! nodes_idle; then
    log "the shared cluster is not running with both nodes idle: restarting it"
    bring_up
  fi
}

case "$MODE" in
  up) bring_up; exit 0 ;;
  down) cleanup; log "test cluster down ($CLUSTER_STATE)"; exit 0 ;;
  own) bring_up ;;
esac

for CASE in "${CASES[@]}"; do
  declare -F "case_$CASE" >/dev/null || { echo "FAIL: unknown case $CASE"; FAILED=1; continue; }
  [[ $MODE == shared ]] && clean_start
  WORK="$BUILD/slurm-tests/$CASE"
  rm -rf "$WORK"
  mkdir -p "$WORK"
  start=$SECONDS
  before=$FAILED
  FAILED=0
  "case_$CASE"
  if [[ $MODE == shared && -n "$(queued_jobs)" ]]; then
    # A case waits for its jobs to end: one still queued means it gave up on it.
    log "jobs of $CASE still queued at its end: $(queued_jobs | tr '\n' ' ')(cancelled)"
    cancel_leftovers
  fi
  if ((FAILED)); then
    echo "FAILED: $CASE ($((SECONDS - start)) s; files in $WORK)"
  else
    echo "PASSED: $CASE ($((SECONDS - start)) s)"
  fi
  FAILED=$((FAILED | before))
done
exit "$FAILED"
