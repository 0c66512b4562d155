"""python -m benchmarks [login|api|demo-data ...] [--million]"""

import argparse

from benchmarks import api_submissions, demo_data, login

BENCHMARKS = {"login": login.main, "api": api_submissions.main, "demo-data": demo_data.main}


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"run only these ({', '.join(BENCHMARKS)}); default: all",
    )
    parser.add_argument(
        "--million",
        action="store_true",
        help="time `portal demo-data` with a million records (minutes)",
    )
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}")
    if args.million:
        demo_data.main(records=demo_data.MILLION)
        return
    for name in args.names or BENCHMARKS:
        print(f"== {name}", flush=True)
        BENCHMARKS[name]()


# The guard matters: `portal demo-data` starts worker processes that import this module.
if __name__ == "__main__":
    main()
