#!/usr/bin/env bash
# Refresh the French message catalog from the source strings, then compile it.
#
#   scripts/messages.sh
#
# Works from any directory. Needs GNU gettext (xgettext, msgmerge, msgfmt) and the repo's
# .venv. Afterwards, translate the new or fuzzy entries of
# src/facturier/locale/fr/LC_MESSAGES/django.po, remove their "#, fuzzy" flags, run this
# script again, and commit both django.po and django.mo (users need no gettext tools).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="$repo/.venv/bin/python"
[[ -x "$python" ]] || { echo "error: $python not found (run 'make install' first)" >&2; exit 1; }

# Settings create their data directory and secret key on import: keep that out of the repo.
data_dir="$(mktemp -d)"
trap 'rm -rf "$data_dir"' EXIT
export FACTURIER_DATA_DIR="$data_dir"
export DJANGO_SETTINGS_MODULE=facturier.settings

cd "$repo/src/facturier"
mkdir -p locale
"$python" -m django makemessages -l fr --ignore 'migrations/*'
"$python" -m django compilemessages -l fr

po=locale/fr/LC_MESSAGES/django.po
msgfmt --check --statistics -o /dev/null "$po"
if grep -q '^#, fuzzy' "$po" || [[ -n "$(msgattrib --untranslated --no-wrap "$po" | grep -v '^$' || true)" ]]; then
    echo "warning: $po has fuzzy or untranslated entries" >&2
fi
