config = {
    "type": "noop",
    "name": "Operator",
    "virtualEmits": ["t.fanout"],
    "virtualSubscribes": [],
    "flows": ["fixture"],
}
