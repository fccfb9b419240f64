.PHONY: run test setup bench workshop

run:    ## set up, ingest corpus/, start API + UI
	scripts/start.sh

workshop:  ## like run, but on the LAN for a workshop; prints the join URL (set KVA_API_KEY)
	scripts/workshop.sh

test:   ## set up (incl. test extras) and run ruff + the whole test suite
	scripts/test.sh

setup:
	scripts/setup.sh

bench:  ## print the benchmark figures
	.venv/bin/python benchmarks/ingest_throughput.py
	.venv/bin/python benchmarks/ask_latency.py
