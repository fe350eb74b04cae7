#!/bin/sh
# Runs last on a single host, and in hotchain finalize on the alpha (-final).
echo "reindexing products after $HOTFIX_VERSION"
