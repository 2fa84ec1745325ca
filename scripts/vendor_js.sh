#!/usr/bin/env bash
# Offline site option of the CLASSP book.
#
# By default the built HTML loads its JavaScript packages from CDNs: MathJax (math), RequireJS
# and @jupyter-widgets/html-manager (saved ipywidgets), and Vega, Vega-Lite and vega-embed (the
# kernel-free lab of chapter 12, book/_ext/classp_vega.py). Without internet, math shows as raw
# \(...\), widgets as empty space and the lab not at all. This script
#
#   1. fetches those packages from the npm registry (`npm pack`, no install, no node_modules)
#      and copies the files the pages need (about 9 MB) to book/_vendor/static/ (git-ignored;
#      the Vega files to book/_vendor/static/vega/, where book/_ext/classp_vega.py finds them);
#   2. writes book/_vendor/_config_offline.yml: a copy of _config.yml plus four Sphinx settings
#      that serve the vendored files from _build/html/_static/ instead of the CDNs.
#
# Then build with that config (Jupyter Book 1's --config REPLACES _config.yml, it does not merge,
# hence the generated full copy):
#
#   bash scripts/vendor_js.sh
#   jupyter-book build . --config book/_vendor/_config_offline.yml --all -W --keep-going
#
# The download happens once (book/_vendor/static/.ok records the versions); the config is
# regenerated on every call, so run the script again after editing _config.yml.
# Licences of the vendored files: html-manager BSD-3-Clause, RequireJS MIT, MathJax Apache-2.0,
# Vega, Vega-Lite and vega-embed BSD-3-Clause.
#
# Environment: PYTHON (default: .venv/bin/python if present, else python3; needs PyYAML, which
# Jupyter Book depends on), NPM (default: npm).
set -euo pipefail

HTML_MANAGER_VERSION=1.0.15   # @jupyter-widgets/html-manager 1.x renders ipywidgets 8 state
REQUIREJS_VERSION=2.3.8
MATHJAX_VERSION=3.2.2
# Vega-Lite 6.4.1 is the schema of Altair 6.3.0 (alt.SCHEMA_VERSION); Vega 6 and vega-embed 7 are
# the majors Altair 6 names (alt.VEGA_VERSION, alt.VEGAEMBED_VERSION). Keep them equal to
# classp.viz.lab_page.VEGA_VERSIONS (the CDN fallback; tests/viz/test_lab_page.py checks).
VEGA_VERSION=6.2.0
VEGA_LITE_VERSION=6.4.1
VEGA_EMBED_VERSION=7.0.2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/book/_vendor"
static="$vendor/static"
stamp="html-manager $HTML_MANAGER_VERSION, requirejs $REQUIREJS_VERSION, mathjax $MATHJAX_VERSION, vega $VEGA_VERSION, vega-lite $VEGA_LITE_VERSION, vega-embed $VEGA_EMBED_VERSION"

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$root/.venv/bin/python" ]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
NPM="${NPM:-npm}"

if [ -f "$static/.ok" ] && [ "$(cat "$static/.ok")" = "$stamp" ]; then
  echo "vendor_js: $stamp already in book/_vendor/static"
else
  command -v "$NPM" >/dev/null || { echo "vendor_js: npm not found (set NPM=...)" >&2; exit 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (
    cd "$tmp"
    "$NPM" pack --silent "@jupyter-widgets/html-manager@$HTML_MANAGER_VERSION" \
      "requirejs@$REQUIREJS_VERSION" "mathjax@$MATHJAX_VERSION" "vega@$VEGA_VERSION" \
      "vega-lite@$VEGA_LITE_VERSION" "vega-embed@$VEGA_EMBED_VERSION" >/dev/null
    for f in *.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
  )
  hm="$tmp/jupyter-widgets-html-manager-$HTML_MANAGER_VERSION/package/dist"
  mj="$tmp/mathjax-$MATHJAX_VERSION/package/es5"
  rq="$tmp/requirejs-$REQUIREJS_VERSION/package/require.js"
  vg="$tmp/vega-$VEGA_VERSION/package/build/vega.min.js"
  vl="$tmp/vega-lite-$VEGA_LITE_VERSION/package/build/vega-lite.min.js"
  ve="$tmp/vega-embed-$VEGA_EMBED_VERSION/package/build/vega-embed.min.js"
  for need in "$hm/embed-amd.js" "$mj/tex-mml-chtml.js" "$rq" "$vg" "$vl" "$ve"; do
    [ -f "$need" ] || { echo "vendor_js: expected file missing from the npm package: $need" >&2; exit 1; }
  done
  rm -rf "$static"
  mkdir -p "$static/html-manager" "$static/mathjax/output/chtml/fonts" "$static/vega"
  # embed-amd.js and the icon fonts it references by relative URL (source maps are not needed)
  cp "$hm/embed-amd.js" "$static/html-manager/"
  find "$hm" -maxdepth 1 -type f \( -name '*.woff' -o -name '*.woff2' -o -name '*.ttf' \
    -o -name '*.eot' -o -name '*.svg' \) -exec cp {} "$static/html-manager/" \;
  cp "$rq" "$static/require.js"
  # MathJax finds its fonts relative to its own URL
  cp "$mj/tex-mml-chtml.js" "$static/mathjax/"
  cp -r "$mj/output/chtml/fonts/woff-v2" "$static/mathjax/output/chtml/fonts/"
  # the UMD builds (globals vega, vegaLite, vegaEmbed), loaded by plain <script> tags
  cp "$vg" "$vl" "$ve" "$static/vega/"
  echo "$stamp" > "$static/.ok"
  echo "vendor_js: fetched $stamp into book/_vendor/static ($(du -sh "$static" | cut -f1))"
fi

"$PYTHON" - "$root/_config.yml" "$vendor/_config_offline.yml" <<'PY'
"""Write the offline config: _config.yml plus the settings that use book/_vendor/static."""
import sys

import yaml

src, out = sys.argv[1], sys.argv[2]
with open(src, encoding="utf8") as f:
    cfg = yaml.safe_load(f)
config = cfg.setdefault("sphinx", {}).setdefault("config", {}) or {}
cfg["sphinx"]["config"] = config
# Paths are relative to the source folder (the repository root). The folder's CONTENTS are
# copied to _build/html/_static/. Do not use a folder named _static here: Jupyter Book would
# then add every .js/.css file under it to every page.
config["html_static_path"] = ["book/_vendor/static"]
# Relative script paths are served from _static/ (Sphinx add_js_file).
config["mathjax_path"] = "mathjax/tex-mml-chtml.js"
# Replaces MyST-NB's CDN defaults; loaded only on pages that hold widgets.
config["nb_ipywidgets_js"] = {"require.js": {}, "html-manager/embed-amd.js": {}}
# Jupyter Book resolves local extension folders relative to the config file: re-anchor them.
import os
for name, path in (cfg["sphinx"].get("local_extensions") or {}).items():
    target = os.path.join(os.path.dirname(os.path.abspath(src)), path)
    cfg["sphinx"]["local_extensions"][name] = os.path.relpath(target, os.path.dirname(os.path.abspath(out)))
header = ("# GENERATED by scripts/vendor_js.sh from _config.yml: do not edit, re-run the script.\n"
          "# Build: jupyter-book build . --config book/_vendor/_config_offline.yml --all -W --keep-going\n")
with open(out, "w", encoding="utf8") as f:
    f.write(header)
    yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True)
print(f"vendor_js: wrote {out}")
PY

echo "vendor_js: build the offline site with"
echo "  jupyter-book build . --config book/_vendor/_config_offline.yml --all -W --keep-going"
