# exitcode: the guest ends the machine through the test finisher with a chosen exit code.
FAIL_CODE=${arg_code:-7}
log "exiting with code $FAIL_CODE through the test finisher"
echo "SCENARIO exitcode OK"
finish "$FAIL_CODE"
