#!/bin/sh
# imwire.ko in Debian's kernel under qemu (scripts/kmod-test.sh): about
# 10-20 s of emulated boot and test.
sh "$TOP/scripts/kmod-test.sh"
