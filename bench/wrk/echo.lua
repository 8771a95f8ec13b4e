-- POST a small JSON body to /echo (bench/http_action_bench.py).
wrk.method = "POST"
wrk.body = '{"name": "bench", "n": 21}'
wrk.headers["Content-Type"] = "application/json"
