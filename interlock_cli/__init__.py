"""`interlock`: the operator's command (validate pipelines and stack files, inspect and steer a deployed stack)."""
