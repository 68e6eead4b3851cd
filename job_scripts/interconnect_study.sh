#!/usr/bin/env bash
# Interconnect study: submits the same suite once per target (a partition and/or a transport
# setting), each with its own --system label and results file, then a job that depends on all of
# them (--dependency=afterok) and runs `moebench report` over every file. Run it on a login node.
#
#   job_scripts/interconnect_study.sh SUITE TARGET [TARGET...]
#     TARGET = LABEL:PARTITION[:VAR=value VAR=value ...]   (empty PARTITION = the default one)
#
#   SBATCH_ARGS="--nodes=2 --ntasks-per-node=8 --gpus-per-task=1" \
#   job_scripts/interconnect_study.sh suites/deepseek-v3.toml \
#       'ib-ndr:gpu-ib' 'roce:gpu-roce' 'ib-as-tcp:gpu-ib:UCX_TLS=tcp,self NCCL_IB_DISABLE=1'
#
# Variables: STUDY_DIR [results/study-<date>-<pid>] where the files go; SBATCH_ARGS [] options
# for every run; REPORT_ARGS [] extra `moebench report` options (e.g. --format latex);
# JOB_SCRIPTS [this folder]; MOEBENCH, LAUNCHER and the rest pass through to moebench.sbatch
# (docs/SLURM.md). Prints one line per job and the report's path; exits 2 on bad arguments.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JOB_SCRIPTS="${JOB_SCRIPTS:-$HERE}"

usage() { echo "usage: interconnect_study.sh SUITE LABEL:PARTITION[:VAR=value ...] [...]" >&2; exit 2; }
(($# >= 2)) || usage
SUITE="$1"
shift
[[ -f "$SUITE" ]] || { echo "interconnect_study.sh: $SUITE: suite file not found" >&2; exit 2; }
SUITE="$(cd "$(dirname "$SUITE")" && pwd)/$(basename "$SUITE")"

# Validate every target before submitting anything.
labels=()
for target in "$@"; do
  label="${target%%:*}"
  [[ "$target" == *:* ]] || { echo "interconnect_study.sh: target '$target': expected LABEL:PARTITION[:VAR=value ...]" >&2; exit 2; }
  [[ "$label" =~ ^[A-Za-z0-9._+-]+$ ]] || { echo "interconnect_study.sh: target '$target': label must be [A-Za-z0-9._+-]+" >&2; exit 2; }
  for l in "${labels[@]}"; do
    [[ "$l" != "$label" ]] || { echo "interconnect_study.sh: label '$label' given twice" >&2; exit 2; }
  done
  labels+=("$label")
  rest="${target#*:}"
  if [[ "$rest" == *:* ]]; then
    for kv in ${rest#*:}; do
      [[ "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || { echo "interconnect_study.sh: target '$target': '$kv' is not VAR=value" >&2; exit 2; }
    done
  fi
done

STUDY_DIR="${STUDY_DIR:-$PWD/results/study-$(date -u +%Y%m%dT%H%M%SZ)-$$}"
mkdir -p "$STUDY_DIR"
STUDY_DIR="$(cd "$STUDY_DIR" && pwd)"

ids=()
files=()
first_partition=""
for target in "$@"; do
  label="${target%%:*}"
  rest="${target#*:}"
  partition="${rest%%:*}"
  envs=()
  if [[ "$rest" == *:* ]]; then read -r -a envs <<<"${rest#*:}"; fi
  out="$STUDY_DIR/$label.h5"
  part_args=()
  if [[ -n "$partition" ]]; then
    part_args=(--partition="$partition")
    [[ -n "$first_partition" ]] || first_partition="$partition"
  fi
  # The transport settings go into the job's environment (sbatch exports it); values may
  # hold commas, which --export=VAR=value could not carry.
  # shellcheck disable=SC2086
  id="$(env "${envs[@]}" SYSTEM="$label" OUTPUT="$out" MOEB_JOB_SCRIPTS="$JOB_SCRIPTS" \
    sbatch --parsable --job-name="moebench-$label" "${part_args[@]}" \
    --output="$STUDY_DIR/$label-%j.out" ${SBATCH_ARGS:-} "$JOB_SCRIPTS/moebench.sbatch" "$SUITE")"
  id="${id%%;*}"
  ids+=("$id")
  files+=("$out")
  echo "interconnect_study: $label -> job $id (partition ${partition:-default}${envs[*]:+, ${envs[*]}}), $out"
done

export MOEB_JOB_SCRIPTS="$JOB_SCRIPTS"  # read by lib/launch.sh
# shellcheck source=lib/launch.sh
source "$JOB_SCRIPTS/lib/launch.sh"
bin="$(moeb_binary)"
report="$STUDY_DIR/report.md"
dep="afterok:$(IFS=:; echo "${ids[*]}")"
part_args=()
[[ -z "$first_partition" ]] || part_args=(--partition="$first_partition")
# shellcheck disable=SC2086
rid="$(sbatch --parsable --job-name=moebench-report --dependency="$dep" --kill-on-invalid-dep=yes \
  "${part_args[@]}" --nodes=1 --ntasks=1 --time=00:15:00 --output="$STUDY_DIR/report-%j.out" \
  --wrap="$(printf '%q ' "$bin" report "${files[@]}" -o "$report" ${REPORT_ARGS:-})")"
rid="${rid%%;*}"
echo "interconnect_study: report -> job $rid (after $dep), $report"
echo "$STUDY_DIR"
