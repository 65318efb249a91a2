#!/usr/bin/env bash
# Refresh the vendored Jupyter widget renderer (_ext/static/widgets/) from the npm registry.
#
# The built book renders widget snapshots with @jupyter-widgets/html-manager's embed-amd.js,
# loaded through RequireJS. Neither is on PyPI, so both are vendored here, with their licences,
# and the site never loads them from a CDN. Run this (it needs npm) to change their versions,
# then rebuild the book and run `make test`: the browser test checks that widgets still render.
#
#   _ext/refresh_widgets_vendor.sh            # the versions pinned below
#   HTML_MANAGER=1.0.16 _ext/refresh_widgets_vendor.sh
#
# html-manager 1.0.x renders the state of ipywidgets 8 (@jupyter-widgets/controls 5,
# base 6, output 6); keep it in step with the ipywidgets pin in constraints.txt.
set -euo pipefail
HTML_MANAGER=${HTML_MANAGER:-1.0.15}
REQUIREJS=${REQUIREJS:-2.3.7}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/static/widgets"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# npm pack checks each tarball against the integrity hash the registry publishes.
(cd "$tmp" && npm pack --silent "@jupyter-widgets/html-manager@$HTML_MANAGER" "requirejs@$REQUIREJS" >/dev/null)
mkdir -p "$tmp/hm" "$tmp/rq"
tar xzf "$tmp"/jupyter-widgets-html-manager-*.tgz -C "$tmp/hm"
tar xzf "$tmp"/requirejs-*.tgz -C "$tmp/rq"

manager="$dest/@jupyter-widgets/html-manager"
rm -rf "$manager" "$dest/require.js"
mkdir -p "$manager/dist"
cp "$tmp/rq/package/require.js" "$dest/require.js"  # its MIT licence is in its header
# embed-amd.js bundles the widget models and views (base, controls, output) and their CSS;
# the CSS asks for the Font Awesome 5 icon fonts next to it. Modern browsers take the woff2
# (woff as a fallback): the eot, ttf and svg copies are left out.
cp "$tmp/hm/package/dist/embed-amd.js" "$manager/dist/"
cp "$tmp"/hm/package/dist/*.woff2 "$tmp"/hm/package/dist/*.woff "$manager/dist/"
cp "$tmp/hm/package/dist/embed.js.LICENSE.txt" "$manager/THIRD_PARTY_LICENSES.txt"

{
  echo "# Written by _ext/refresh_widgets_vendor.sh: package, version, npm integrity hash."
  for pkg in "@jupyter-widgets/html-manager@$HTML_MANAGER" "requirejs@$REQUIREJS"; do
    echo "$pkg $(npm view "$pkg" dist.integrity)"
  done
} > "$dest/VERSIONS"
echo "vendored into $dest:"
cat "$dest/VERSIONS"
