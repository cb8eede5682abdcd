// Placeholder: replaced by the route-table benchmark.
print("meshgate-route-bench: not written yet")
