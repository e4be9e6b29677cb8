#!/usr/bin/env bash
# TorchSharp 0.107.0's libLibTorchSharp.so was built with GCC 13 and needs GLIBCXX_3.4.32 for one symbol,
# std::ios_base_library_init(), which GCC 13 references from every translation unit that includes <iostream>. Debian 12
# ships libstdc++ from GCC 12 (up to GLIBCXX_3.4.30), so the library fails to load there. The function only makes sure
# the iostreams are initialized, which libtorch (built with an older GCC) already does when it loads, so this script
# gives the library an empty definition from a tiny shim and drops the version requirement:
#   1. clears the symbol's version, 2. marks the GLIBCXX_3.4.32 requirement weak (not fatal when missing),
#   3. adds libflows_ios_shim.so (built here) as a dependency; the library's RUNPATH ($ORIGIN) finds it beside it.
# Usage: patch-libtorchsharp.sh DIRECTORY...  (every libLibTorchSharp.so below each directory). Idempotent, and a
# no-op where the system libstdc++ already has GLIBCXX_3.4.32. Needs patchelf, readelf and a C compiler.
set -euo pipefail

system_libstdcxx=$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }')
if [[ -n "$system_libstdcxx" ]] && grep -qa 'GLIBCXX_3\.4\.32' "$system_libstdcxx"; then
    exit 0
fi

symbol=_ZSt21ios_base_library_initv
for directory in "$@"; do
    while IFS= read -r library; do
        native=$(dirname "$library")
        for tool in patchelf readelf cc; do
            command -v "$tool" >/dev/null || { echo "patch-libtorchsharp.sh: $tool is missing (apt-get install patchelf binutils gcc)." >&2; exit 1; }
        done

        if ! readelf -d "$library" | grep -q 'libflows_ios_shim.so'; then
            printf 'void %s(void) {}\n' "$symbol" > "$native/flows_ios_shim.c"
            cc -shared -fPIC -O2 -o "$native/libflows_ios_shim.so" "$native/flows_ios_shim.c"
            rm "$native/flows_ios_shim.c"
            patchelf --clear-symbol-version "$symbol" "$library"
            patchelf --add-needed libflows_ios_shim.so "$library"
        fi

        # The Vernaux entry of GLIBCXX_3.4.32: vna_hash (4 bytes), then vna_flags (2 bytes; VER_FLG_WEAK = 2).
        needs=$(readelf -V "$library" | sed -n '/Version needs section/,$p')
        section=$(grep -o -m1 'Offset: 0x[0-9a-f]*' <<< "$needs" | awk '{ print $2 }')
        entry=$(grep 'Name: GLIBCXX_3\.4\.32' <<< "$needs" || true)
        if [[ -z "$section" || -z "$entry" ]]; then
            echo "patch-libtorchsharp.sh: no GLIBCXX_3.4.32 requirement found in $library." >&2
            exit 1
        fi

        if [[ "$entry" == *"Flags: WEAK"* ]]; then
            continue
        fi

        offset=$(awk '{ print $1 }' <<< "$entry" | tr -d ':')
        printf '\x02\x00' | dd of="$library" bs=1 seek=$((section + offset + 4)) conv=notrunc status=none
        echo "patch-libtorchsharp.sh: patched $library"
    done < <(find "$directory" -name libLibTorchSharp.so)
done
