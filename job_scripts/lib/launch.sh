# shellcheck shell=bash
# Sourced by the job scripts: finds the binary, sets the communication environment, launches
# `moebench run` with srun or mpirun, forwards stop signals, and names what it ran. Thin on
# purpose: resources come from sbatch, everything else from the binary.
# Variables (defaults in brackets; table in docs/SLURM.md):
#   MOEBENCH [moebench on PATH, else <repo>/build/release/bin/moebench]   the binary
#   LAUNCHER [srun]   srun | mpirun (inside the allocation)
#   SRUN_MPI [pmix]   srun --mpi= plugin (`srun --mpi=list`); SRUN_ARGS extra srun options
#   CPU_BIND [cores]  srun --cpu-bind=, mpirun --bind-to (none to leave binding to the site)
#   MPIRUN_ARGS       extra mpirun options
#   MPI_NET []        loopback: Open MPI TCP and out-of-band traffic on lo (one-host clusters)
#   OMPI_BTL []       sets OMPI_MCA_btl (e.g. self,tcp where several slurmd share one host)
#   SETUP []          a file sourced first (module loads, site environment)
#   SYSTEM []         --system label (the report's column); STRATEGIES [] --strategies a,b
#   RESUME [auto]     auto: a requeued job resumes its output file; an existing output file
#                     otherwise stops the job (exit 2); 0: overwrite (--force); a path: resume that file
#   REQUEUE_ON_STOP [0]  1: after a stop signal, `scontrol requeue` the job so that it resumes
#   MOEB_ARGS []      extra `moebench run` arguments

moeb_log() { echo "[moebench job ${SLURM_JOB_ID:-local}] $*"; }

moeb_binary() {
  if [[ -n "${MOEBENCH:-}" ]]; then echo "$MOEBENCH"; return; fi
  if command -v moebench >/dev/null 2>&1; then command -v moebench; return; fi
  local guess="$MOEB_JOB_SCRIPTS/../build/release/bin/moebench"
  if [[ -x "$guess" ]]; then (cd "$(dirname "$guess")" && echo "$PWD/moebench"); return; fi
  echo "moebench: binary not found: set MOEBENCH=/path/to/moebench or put it on PATH" >&2
  return 2
}

moeb_environment() {
  if [[ -n "${SETUP:-}" ]]; then
    # shellcheck disable=SC1090
    source "$SETUP"
  fi
  case "${MPI_NET:-}" in
    "") ;;
    loopback)
      export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo UCX_NET_DEVICES=lo ;;
    *) echo "moebench: MPI_NET=${MPI_NET}: expected loopback or empty" >&2; return 2 ;;
  esac
  if [[ -n "${OMPI_BTL:-}" ]]; then export OMPI_MCA_btl="$OMPI_BTL"; fi
  if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
}

# The launcher prefix as an array in MOEB_LAUNCH.
moeb_launcher() {
  local bind="${CPU_BIND:-cores}"
  case "${LAUNCHER:-srun}" in
    srun)
      MOEB_LAUNCH=(srun "--mpi=${SRUN_MPI:-pmix}" --kill-on-bad-exit=1)
      [[ "$bind" == none ]] || MOEB_LAUNCH+=("--cpu-bind=$bind")
      # shellcheck disable=SC2206
      MOEB_LAUNCH+=(${SRUN_ARGS:-}) ;;
    mpirun)
      local ppn="${SLURM_NTASKS_PER_NODE:-}"
      MOEB_LAUNCH=(mpirun -np "${SLURM_NTASKS:?mpirun launcher needs an allocation}")
      [[ -z "$ppn" || "$ppn" == *[!0-9]* ]] || MOEB_LAUNCH+=(--map-by "ppr:${ppn}:node")
      MOEB_LAUNCH+=(--bind-to "$([[ "$bind" == none ]] && echo none || echo core)")
      # shellcheck disable=SC2206
      MOEB_LAUNCH+=(${MPIRUN_ARGS:-}) ;;
    *) echo "moebench: LAUNCHER=${LAUNCHER}: expected srun or mpirun" >&2; return 2 ;;
  esac
}

# moeb_run SUITE OUTPUT [extra moebench run args...]
moeb_run() {
  local suite="$1" out="$2"
  shift 2
  local bin
  bin="$(moeb_binary)" || exit 2
  moeb_environment || exit 2
  moeb_launcher || exit 2
  mkdir -p "$(dirname "$out")"
  local args=(run "$suite" -o "$out")
  [[ -z "${SYSTEM:-}" ]] || args+=(--system "$SYSTEM")
  [[ -z "${STRATEGIES:-}" ]] || args+=(--strategies "$STRATEGIES")
  case "${RESUME:-auto}" in
    auto)
      # Only a requeued job (same id, SLURM_RESTART_COUNT >= 1) resumes by itself: a file of the
      # same name from elsewhere (job ids restart on a new cluster) is never taken for its own.
      if [[ -f "$out" ]]; then
        if ((${SLURM_RESTART_COUNT:-0} > 0)); then
          moeb_log "restart ${SLURM_RESTART_COUNT} of this job: resuming $out"
          args+=(--resume "$out")
        else
          echo "moebench: $out already exists and this job is not a requeued one: set RESUME=$out to resume it, RESUME=0 to overwrite it, or choose another OUTPUT" >&2
          exit 2
        fi
      fi ;;
    0 | no) [[ ! -f "$out" ]] || args+=(--force) ;;  # moebench never overwrites without it
    *) args+=(--resume "$RESUME") ;;
  esac
  # shellcheck disable=SC2206
  args+=(${MOEB_ARGS:-} "$@")

  moeb_log "nodes ${SLURM_JOB_NODELIST:-$(hostname)}, ${SLURM_NTASKS:-?} tasks, launcher ${LAUNCHER:-srun}"
  moeb_log "results: $out"
  moeb_log "command: ${MOEB_LAUNCH[*]} $bin ${args[*]}"

  # Run in the background so that the shell can forward Slurm's signals: SIGUSR1 (--signal=B:USR1)
  # and SIGTERM (scancel --batch / --full) both become SIGUSR1 for the launcher, which srun and
  # mpirun pass on to every rank; the run then stops at the next iteration boundary. (mpirun
  # answers SIGTERM by killing its ranks, so TERM is not forwarded as TERM.)
  "${MOEB_LAUNCH[@]}" "$bin" "${args[@]}" &
  local pid=$! rc=0
  MOEB_STOPPED=0
  trap 'MOEB_STOPPED=1; moeb_log "stop signal received: asking the ranks to stop at the next iteration"; kill -USR1 '"$pid"' 2>/dev/null || true' USR1 TERM
  while true; do
    rc=0
    wait "$pid" || rc=$?
    # wait returns >128 when a trapped signal interrupts it; the launcher is then still there
    # (running, or a zombie not yet reaped) and the next wait gives its real exit status.
    if ((rc > 128)) && kill -0 "$pid" 2>/dev/null; then continue; fi
    break
  done
  trap - USR1 TERM
  # Name the results file only when it exists (a run refused at setup writes none).
  local kept="finished strategies are kept in $out"
  [[ -f "$out" ]] || kept="no results file was written ($out does not exist)"
  if ((rc == 0)); then
    moeb_log "done: $out"
  elif ((MOEB_STOPPED)) && [[ "${REQUEUE_ON_STOP:-0}" == 1 && -n "${SLURM_JOB_ID:-}" ]]; then
    # Time limit ahead (--signal=B:USR1) or preemption notice: put the job back in the queue; it
    # keeps its id and output file and resumes it when it starts again.
    moeb_log "stopped with code $rc; $kept; requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID" || moeb_log "scontrol requeue failed (submit with --requeue?)"
  else
    if [[ -f "$out" ]]; then
      moeb_log "moebench exited with code $rc; $kept (requeue the job, or submit a new one with OUTPUT=$out RESUME=$out)"
    else
      moeb_log "moebench exited with code $rc; $kept"
    fi
  fi
  return "$rc"
}
