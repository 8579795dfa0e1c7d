#!/bin/sh
# immortal's settings on shared hosting, where the web server's own config
# is out of reach. Copy this file into the web folder as immortal.fcgi (for
# mod_fcgid, see htaccess) or immortal.cgi (plain CGI, see htaccess-cgi),
# chmod 755, and keep the immortal binary itself outside the web root.
#
# An .htaccess `SetEnv` reaches a FastCGI program as a request variable,
# which immortal reads for IMMORTAL_CONFIG_DIR and IMMORTAL_ACCESS_KEYS_FILE
# only; every other setting (the log folder, provider keys used as ${VAR}
# in the group files) must be in its environment: here. Access keys set
# here belong to the folder named here; another folder an .htaccess names
# has its own (its access.keys, or SetEnv IMMORTAL_ACCESS_KEYS_FILE).
dir=/home/USER/immortal

export IMMORTAL_CONFIG_DIR="$dir/groups"
export IMMORTAL_LOG_DIR="$dir/log"
#export IMMORTAL_ACCESS_KEYS_FILE="$dir/keys"
#export OPENROUTER_API_KEY=sk-or-...
# mod_fcgid sends one request at a time to each process.
export IMMORTAL_THREADS=1

exec "$dir/bin/immortal" "$@"
