"""A handler module whose import fails: the runtime reports an init error."""

raise RuntimeError("boom at init")


def handler(event, context):
    return "unreachable"
