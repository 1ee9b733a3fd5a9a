#!/usr/bin/env bash
# Install the IMAP server that the mailbox tests of `credmock verify` start (their own instance,
# on a free port, in a temporary folder; mail handed to it by its LDA, dovecot-lda): Debian's
# dovecot-imapd. Idempotent: a no-op when dovecot is installed. The package's own service is not
# used (and not started here).
set -euo pipefail

if [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/dovecot-lda ]; then
    echo "install-dovecot: dovecot already installed ($(/usr/sbin/dovecot --version | cut -d' ' -f1))"
    exit 0
fi

"$(dirname "$0")/apt-install.sh" dovecot-imapd
echo "install-dovecot: installed $(/usr/sbin/dovecot --version | cut -d' ' -f1)"
