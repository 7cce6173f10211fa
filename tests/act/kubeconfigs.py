"""A kubeconfig that reaches nothing, with a recognisable token: a method that tries to use it fails
loudly, and any output can be searched for the token."""

SECRET_TOKEN = "tok-" + "s3cr3t" * 6
UNREACHABLE_KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:1"}}}}]
users: [{{name: u, user: {{token: {SECRET_TOKEN}}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""
