# On a GPU machine: adapter, GPU tests, matmul bench, three Moby-Dick pre-training runs at once.
# Results (logs, JSON lines) go to $OUT/results.tgz ($OUT defaults to /tmp/out). Needs libvulkan.so.1 and the
# NVIDIA ICD (found under /usr/local/nvidia or /usr/share/vulkan); .gl/*.deb are unpacked if present.
# Where the machine lacks the loader, fetch the .debs beside the repo first (libvulkan1 alone is not
# enough: the NVIDIA ICD needs glvnd): apt-get download libvulkan1 libegl1 libglvnd0 libopengl0
# libgl1 libglx0 libgles2 (into .gl/), and send .gl along with .devkit.
# Usage (repo root, after node bench/gpu-kit/build.mjs): bash .devkit/run.sh TRAIN_SECONDS
# Env: BENCH=1 adds the matmul bench (~100 s on an H100); SKIP_TESTS=1; ALLOW_SOFT=1 runs on a CPU adapter.
set -u
TRAIN_S=${1:-240}
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
# GPU tests (real device), one file at a time; models-golden's 6 `bertgpu run` CLI cases spawn
# esbuild / Deno, which the kit lacks, so they fail here by construction
[ -n "${SKIP_TESTS:-}" ] ||for t in .devkit/tests/*.mjs; do
  timeout 120 $N $t > $R/test-$(basename $t .mjs).log 2>&1; echo "$(basename $t): rc=$? $(grep -E 'Total|Passed|Skipped' $R/test-$(basename $t .mjs).log | tr -s ' ' | tr '\n' ' ')"
done
[ -z "${BENCH:-}" ] || BERTGPU_BENCH_OPTS='{"sizes":[256,512,1024,2048,4096],"variants":["tiled","register","register16"],"trialSeconds":0.4,"tfjs":true,"ceiling":true,"maxSeconds":20}' timeout 150 $N .devkit/bench-matmul.mjs 2>&1 | grep -v artificially > $R/bench.log; cat $R/bench.log 2>/dev/null
COMMON="--corpus .devkit/moby/chapter_*.txt --train-vocab 4000 --config bert-tiny --batch ${BATCH:-64} --seq ${SEQ:-128} --eval-fraction 0.1 --eval-batches 8 --quiet"
declare -A EXTRA=( [mlm-nsp]="--lr 1e-3 --dupe-factor 10 --masking dynamic" [roberta]="--lr 1e-3" [electra]="--lr 1e-3" )
OBJS="mlm-nsp electra roberta"
# probe: 60 steps each, all at once (same contention as the real runs)
for o in $OBJS; do timeout 120 $N .devkit/cli.mjs pretrain --objective $o $COMMON ${EXTRA[$o]} --steps ${PROBE:-60} --log-every $(( ${PROBE:-60} / 3 )) --out /tmp/probe-$o --log $R/probe-$o.jsonl > $R/probe-$o.out 2>&1 & PIDS="${PIDS:-} $!"; done; wait $PIDS; PIDS=
for o in $OBJS; do [ -s $R/probe-$o.jsonl ] || { echo "probe $o failed"; tail -20 $R/probe-$o.out; exit 3; }; done
for o in $OBJS; do
  TPS=$($N -e "const l=require('fs').readFileSync('$R/probe-$o.jsonl','utf8').trim().split('\n').map(JSON.parse).filter(r=>!r.eval);console.log(Math.round(l[l.length-1].tokens_per_s))")
  STEPS=$(( TPS * TRAIN_S / ${BATCH:-64} / ${SEQ:-128} )); EV=$(( STEPS / 16 ))
  echo "$o: probe $TPS tok/s -> $STEPS steps (eval every $EV)"
  timeout $((TRAIN_S * 2 + 60)) $N .devkit/cli.mjs pretrain --objective $o $COMMON ${EXTRA[$o]} --steps $STEPS --log-every 50 --eval-every $EV --out /tmp/run-$o --log $R/$o.jsonl > $R/$o.out 2>&1 & PIDS="$PIDS $!"
done
wait $PIDS
for o in $OBJS; do echo "== $o"; grep -v artificially $R/$o.out | tail -4; done
kill $PACKER
