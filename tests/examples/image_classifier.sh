#!/usr/bin/env bash
# The main example end to end on small made-up datasets (no Python, no downloads): a CIFAR-10
# binary folder of random images, trained one epoch with a checkpoint, resumed for a second epoch,
# then used to predict the class of an image file; and an ImageFolder tree of JPEGs.
#   image_classifier.sh <image_classifier binary> <a JPEG file>
set -euo pipefail
bin=$1 jpeg=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# CIFAR-10 binary layout: records of 1 label byte + 3072 pixel bytes, 10 records per file
mkdir -p "$dir/cifar"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
  for i in 0 1 2 3 4 5 6 7 8 9; do
    printf "\\$(printf '%03o' "$i")"
    head -c 3072 /dev/urandom
  done > "$dir/cifar/$f.bin"
done
out=$("$bin" --epochs 1 --batch 8 --workers 0 --save "$dir/w.safetensors" --checkpoint "$dir/c.ckpt" "$dir/cifar")
grep -q "50 training and 10 test images, 10 classes" <<<"$out"
grep -q "test accuracy" <<<"$out"
grep -q "confusion matrix" <<<"$out"
out=$("$bin" --epochs 2 --batch 8 --workers 2 --save "$dir/w.safetensors" --checkpoint "$dir/c.ckpt" "$dir/cifar")
grep -q "resumed from .* after epoch 1" <<<"$out"
grep -q "epoch 2/2" <<<"$out"
out=$("$bin" --save "$dir/w.safetensors" "$dir/cifar" --predict "$jpeg")
grep -Eq "$(basename "$jpeg"): (airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck) \([0-9.]+%\)" <<<"$out"

# ImageFolder: train/ and test/ with two classes of JPEGs (any size: resized to --size)
for split in train test; do
  for c in cats dogs; do
    mkdir -p "$dir/folder/$split/$c"
    for i in 1 2 3; do cp "$jpeg" "$dir/folder/$split/$c/$i.jpg"; done
  done
done
out=$("$bin" --epochs 1 --batch 4 --workers 1 --size 16 --save "$dir/f.safetensors" "$dir/folder")
grep -q "6 training and 6 test images, 2 classes" <<<"$out"
out=$("$bin" --size 16 --save "$dir/f.safetensors" "$dir/folder" --predict "$jpeg")
grep -Eq "(cats|dogs) \(" <<<"$out"

# errors: a missing dataset and a missing image are reported, not crashed on
if "$bin" "$dir/nothing-here" >/dev/null 2>&1; then exit 1; fi
"$bin" --size 16 --save "$dir/f.safetensors" "$dir/folder" --predict "$dir/missing.jpg" 2>&1 | grep -q "missing.jpg"
echo "image_classifier: ok"
