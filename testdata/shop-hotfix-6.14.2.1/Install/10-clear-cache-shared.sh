#!/bin/sh
# Runs on a single host and on the alpha (-shared): the cache lies on shared storage.
echo "clearing the page cache for $HOTFIX_VERSION"
