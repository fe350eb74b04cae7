#!/bin/sh
# Runs on a single host and on every secondary (-local): each host keeps its own copy.
echo "reloading templates on $HOST_ROLE host"
