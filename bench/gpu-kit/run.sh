# On a GPU machine: adapter, GPU tests, matmul bench, solo throughput probes, then several Moby-Dick
# pre-training runs at once until a deadline. Results (logs, JSON lines) go to $OUT/results.tgz
# ($OUT defaults to /tmp/out). Needs libvulkan.so.1 and the NVIDIA ICD (found under /usr/local/nvidia
# or /usr/share/vulkan); .gl/*.deb are unpacked if present. Where the machine lacks the loader, fetch
# the .debs beside the repo first (libvulkan1 alone is not enough: the NVIDIA ICD needs glvnd):
# apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 (into .gl/), and
# send .gl along with .devkit.
# Usage (repo root, after node bench/gpu-kit/build.mjs): bash .devkit/run.sh DEADLINE_SECONDS
#   everything (probes, training, final evaluation) is planned to end DEADLINE_SECONDS after start.
# Env: RUNS="name|args;name|args" training runs (default: mlm-nsp, electra, roberta at B64 lr 1e-3);
#   SOLO="args;args" single-process throughput probes first (default: none); PROFILE="args;args" GPU time
#   per kernel (bench/kernel-profile.mjs); STEP_OVERHEAD=1 the JS recording cost; ROWS=1 the row kernels'
#   two variants (bench/row-kernels.mjs); AMP="args;args" Trainer precision f16 against f32 (bench/amp.mjs,
#   e.g. AMP="--model bert-mini --batch 64 --steps 20"); TESTS=1 runs the GPU
#   tests beside the training; BENCH=1 the matmul bench first; ALLOW_SOFT=1 runs on a CPU adapter;
#   EXTRA=1 trains on the kit's extra text too (build with KIT_EXTRA_CORPUS), held-back chapters unchanged.
# Runs side by side share the GPU's time, they do not add throughput: on an H100, ELECTRA B64 x T128
#   ran at 131K tokens/s alone, 2 x 60K side by side and 8 x 15K (8 x ~900 steps in 8 min).
set -u
export LC_ALL=C  # the corpus glob (and so the held-back documents) in the same order everywhere
START=$(date +%s); DEADLINE=${1:-300}
OUT=${OUT:-/tmp/out}; R=/tmp/kit-results/r; mkdir -p $R $OUT
# results are re-packed every 20 s and at exit, so a run cut off at its time limit still returns them
pack() { tar czf $OUT/results.tgz.tmp -C /tmp/kit-results r && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
trap pack EXIT
(while sleep 20; do pack; done) & PACKER=$!
bash .devkit/setup.sh > $R/setup.log 2>&1 || { cat $R/setup.log; exit 1; }
for j in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f $j ] && { export VK_DRIVER_FILES=$j VK_ICD_FILENAMES=$j; break; }
done
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
N=/tmp/kit-node
timeout 30 $N .devkit/adapter.mjs 2>&1 | grep -v artificially | tee $R/adapter.log
[ ${PIPESTATUS[0]} = 0 ] || [ -n "${ALLOW_SOFT:-}" ] || { echo "no hardware adapter"; nvidia-smi -L; ls /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d 2>&1; exit 2; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
[ -z "${BENCH:-}" ] || BERTGPU_BENCH_OPTS='{"sizes":[256,512,1024,2048,4096],"variants":["tiled","register","register16"],"trialSeconds":0.4,"tfjs":true,"ceiling":true,"maxSeconds":20}' timeout 150 $N .devkit/bench-matmul.mjs 2>&1 | grep -v artificially > $R/bench.log; cat $R/bench.log 2>/dev/null
# GPU time per kernel (timestamp queries), e.g. PROFILE="--objective mlm-nsp --batch 64;--objective electra --batch 64"
IFS=';' read -ra PROFS <<< "${PROFILE:-}"
for p in "${PROFS[@]}"; do timeout 120 $N .devkit/kernel-profile.mjs --corpus .devkit/moby --steps 5 $p 2>&1 | grep -v artificially; done | tee $R/profile.log
[ -z "${STEP_OVERHEAD:-}" ] || timeout 120 $N --expose-gc .devkit/step-overhead.mjs --corpus .devkit/moby 2>&1 | grep -v artificially | tee $R/step-overhead.log
[ -z "${ROWS:-}" ] || timeout 120 $N .devkit/row-kernels.mjs --json $R/row-kernels.json 2>&1 | grep -v artificially | tee $R/row-kernels.log
IFS=';' read -ra AMPS <<< "${AMP:-}"
for a in "${AMPS[@]}"; do timeout 180 $N .devkit/amp.mjs --corpus .devkit/moby $a 2>&1 | grep -v artificially; done | tee $R/amp.log
# the vocabulary --train-vocab 4000 gives with --eval-fraction 0.1, made when the kit was built
DATA=".devkit/moby/chapter_*.txt --vocab .devkit/vocab.txt --eval-fraction 0.1"
# EXTRA=1 (kit built with KIT_EXTRA_CORPUS): the extra text and the same chapters, the same 14 held back
[ -z "${EXTRA:-}" ] || DATA=".devkit/extra/*.txt .devkit/moby/chapter_*.txt --vocab .devkit/vocab-extra.txt --eval-fraction $(cat .devkit/extra-eval-fraction)"
COMMON="--corpus $DATA --config bert-tiny --seq ${SEQ:-128} --eval-batches 16 --quiet"
tps() { $N -e "const l=require('fs').readFileSync('$1','utf8').trim().split('\n').map(JSON.parse).filter(r=>!r.eval);console.log(Math.round(l[l.length-1].tokens_per_s))"; }
# solo probes: one process alone on the GPU, tokens/s after warm-up
IFS=';' read -ra SOLOS <<< "${SOLO:-}"; i=0
for s in "${SOLOS[@]}"; do i=$((i+1))
  timeout 90 $N .devkit/cli.mjs pretrain $COMMON $s --log-every 10 --out /tmp/solo-$i --log $R/solo-$i.jsonl > $R/solo-$i.out 2>&1
  echo "solo $i ($s): $(tps $R/solo-$i.jsonl 2>/dev/null) tok/s"
done | tee $R/solo.log
# GPU tests (real device) beside the training, one file at a time; models-golden's 6 `bertgpu run`
# CLI cases spawn esbuild / Deno, which the kit lacks, so they fail here by construction
[ -z "${TESTS:-}" ] || (for t in .devkit/tests/*.mjs; do
  timeout 150 $N $t > $R/test-$(basename $t .mjs).log 2>&1; echo "$(basename $t): rc=$? $(grep -E 'Total|Passed|Skipped' $R/test-$(basename $t .mjs).log | tr -s ' ' | tr '\n' ' ')"
done > $R/tests.log) &
IFS=';' read -ra SPECS <<< "${RUNS:-mlm-nsp|--objective mlm-nsp --batch 64 --lr 1e-3;electra|--objective electra --batch 64 --lr 1e-3;roberta|--objective roberta --batch 64 --lr 1e-3}"
# probe: 30 steps each, all at once (same contention as the real runs), to size the real runs
PIDS=
for s in "${SPECS[@]}"; do n=${s%%|*}; a=${s#*|}
  timeout 120 $N .devkit/cli.mjs pretrain $COMMON $a --steps ${PROBE:-30} --log-every 10 --out /tmp/probe-$n --log $R/probe-$n.jsonl > $R/probe-$n.out 2>&1 & PIDS="$PIDS $!"
done; wait $PIDS; PIDS=
LEFT=$(( DEADLINE - ($(date +%s) - START) - 45 ))
echo "training for $LEFT s"
for s in "${SPECS[@]}"; do n=${s%%|*}; a=${s#*|}
  [ -s $R/probe-$n.jsonl ] || { echo "probe $n failed"; tail -20 $R/probe-$n.out; continue; }
  B=$(echo "$a" | sed -n 's/.*--batch \([0-9]*\).*/\1/p'); B=${B:-64}
  TPS=$(tps $R/probe-$n.jsonl); STEPS=$(( TPS * LEFT / B / ${SEQ:-128} )); EV=$(( STEPS / 12 ))
  echo "$n: probe $TPS tok/s -> $STEPS steps (eval every $EV): $a"
  timeout $((LEFT + 40)) $N .devkit/cli.mjs pretrain $COMMON $a --steps $STEPS --log-every 50 --eval-every $EV --out /tmp/run-$n --log $R/$n.jsonl > $R/$n.out 2>&1 & PIDS="$PIDS $!"
done
wait $PIDS
for s in "${SPECS[@]}"; do n=${s%%|*}; echo "== $n"; grep -v artificially $R/$n.out | tail -4; done
cat $R/tests.log 2>/dev/null
kill $PACKER
