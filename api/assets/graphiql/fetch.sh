#!/bin/sh
# Fetches the GraphiQL page's pinned production builds from the npm registry, once, into this
# directory, with each package's license beside its files, and records name, version and
# sha256 of every file in MANIFEST. The server embeds these files (api/src/http/graphiql.rs);
# a unit test there checks the embedded bytes against MANIFEST. Run it only to change a version.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# package@version source-file target-file
set -- \
  graphiql@3.9.0 graphiql.min.js graphiql.min.js \
  graphiql@3.9.0 graphiql.min.css graphiql.min.css \
  react@18.3.1 umd/react.production.min.js react.production.min.js \
  react-dom@18.3.1 umd/react-dom.production.min.js react-dom.production.min.js
: > "$here/MANIFEST"
while [ $# -gt 0 ]; do
  spec=$1 source=$2 target=$3
  shift 3
  name=${spec%@*}
  version=${spec##*@}
  if [ ! -d "$name" ]; then
    tarball=$(npm pack --silent "$spec")
    mkdir "$name"
    tar xzf "$tarball" -C "$name"
    cp "$name/package/LICENSE" "$here/LICENSE.$name"
  fi
  cp "$name/package/$source" "$here/$target"
  sum=$(sha256sum "$here/$target" | cut -d' ' -f1)
  echo "$target $name $version $sum" >> "$here/MANIFEST"
done
cat "$here/MANIFEST"
