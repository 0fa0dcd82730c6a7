# Sourced by tools/setup.sh and tools/test.sh: `install_missing WHO PACKAGE...` installs the
# Debian packages that are not installed yet (apt-get update first), and nothing otherwise.
install_missing() {
  local who=$1; shift
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "$who: installing ${missing[*]}"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}
