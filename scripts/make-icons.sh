#!/usr/bin/env bash
# Regenerates icons/ (the app icon set tauri embeds) from one drawing made with ImageMagick 6 (Debian's
# `imagemagick`). The mark: a rounded square with a violet→pink gradient and a white "flow" — an order
# travelling from a source node along a curve to an arrowhead. Drawn once at 1024 px, then downscaled.
#   scripts/make-icons.sh            writes icons/{32x32,128x128,128x128@2x,icon}.png and icons/icon.ico
set -euo pipefail
cd "$(dirname "$0")/.."
# /usr/bin/convert explicitly: some machines put a wrapper named convert earlier on PATH.
IM=${IM_CONVERT:-/usr/bin/convert}
[ -x "$IM" ] || { echo "make-icons: ImageMagick not found at $IM (apt-get install imagemagick)" >&2; exit 1; }
out=icons
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
S=1024

# 1. Background: diagonal gradient clipped to a rounded square with a small transparent margin.
"$IM" -size ${S}x${S} -define gradient:angle=135 gradient:'#6d28d9-#db2777' "$tmp/grad.png"
"$IM" -size ${S}x${S} xc:none -fill white -draw "roundrectangle 56,56 968,968 210,210" "$tmp/mask.png"
"$IM" "$tmp/grad.png" "$tmp/mask.png" -alpha off -compose CopyOpacity -composite "$tmp/bg.png"

# 2. A soft light sheen on the top half, for depth.
"$IM" -size ${S}x${S} xc:none -fill 'rgba(255,255,255,0.10)' -draw "ellipse 512,150 560,330 0,360" \
  "$tmp/mask.png" -compose DstIn -composite "$tmp/sheen.png"

# 3. The flow: a thick curve from a source node (bottom left) to an arrowhead (top right), plus two
#    waypoint dots — the pipeline's steps.
"$IM" -size ${S}x${S} xc:none \
  -stroke white -strokewidth 78 -fill none -draw "stroke-linecap round path 'M 300,730 C 300,470 720,560 700,330'" \
  -stroke none -fill white -draw "polygon 700,170 842,372 558,372" \
  -fill white -draw "circle 300,730 300,630" \
  -fill '#db2777' -draw "circle 300,730 300,678" \
  "$tmp/flow.png"
# A faint drop shadow under the mark so it reads on both the gradient and light panels.
"$IM" "$tmp/flow.png" -background 'rgba(40,0,60,0.55)' -shadow 60x18+0+14 "$tmp/shadow.png"

"$IM" "$tmp/bg.png" "$tmp/sheen.png" -compose Over -composite \
  \( "$tmp/shadow.png" \) -gravity center -compose Over -composite \
  "$tmp/flow.png" -gravity center -compose Over -composite \
  "$tmp/master.png"

# 4. The sizes tauri.conf.json lists. PNG32 forces RGBA, which tauri-build requires.
"$IM" "$tmp/master.png" -resize 512x512 -strip PNG32:"$out/icon.png"
"$IM" "$tmp/master.png" -resize 256x256 -strip PNG32:"$out/128x128@2x.png"
"$IM" "$tmp/master.png" -resize 128x128 -strip PNG32:"$out/128x128.png"
"$IM" "$tmp/master.png" -resize 32x32 -strip PNG32:"$out/32x32.png"
"$IM" "$tmp/master.png" -depth 8 -define icon:auto-resize=256,128,64,48,32,16 "$out/icon.ico"
echo "make-icons: wrote $(ls "$out" | tr '\n' ' ')"
