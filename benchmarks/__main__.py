"""python -m benchmarks [login|api|demo-data|reports ...] [--million] [--postgresql DSN]"""

import argparse

from benchmarks import api_submissions, demo_data, login, reports

BENCHMARKS = {
    "login": login.main,
    "api": api_submissions.main,
    "demo-data": demo_data.main,
    "reports": reports.main,
}
# Those that also run on PostgreSQL (--postgresql).
PG_BENCHMARKS = ("login", "api", "reports")


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
    parser.add_argument(
        "--postgresql",
        metavar="DSN",
        help="run login and api on PostgreSQL (RelStorage + SQL) in a new database on the "
        "server DSN names (postgresql://USER@HOST:PORT/DB; USER needs CREATEDB), dropped "
        "afterwards; demo-data measures the embedded store only",
    )
    parser.add_argument(
        "--sizes",
        metavar="N,N",
        help="reports: the numbers of submissions to measure at (default 100000,1000000)",
    )
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}")
    names, options = args.names or list(BENCHMARKS), {}
    if args.postgresql:
        if args.million or set(args.names) - set(PG_BENCHMARKS):
            parser.error(f"only {', '.join(PG_BENCHMARKS)} run on PostgreSQL")
        names = [name for name in names if name in PG_BENCHMARKS]
        options["postgresql"] = args.postgresql
    if args.sizes:
        if set(names) != {"reports"}:
            parser.error("--sizes goes with the reports benchmark alone")
        options["sizes"] = tuple(int(n) for n in args.sizes.split(","))
    if args.million:
        demo_data.main(records=demo_data.MILLION)
        return
    for name in names:
        print(f"== {name}", flush=True)
        BENCHMARKS[name](**options)


# The guard matters: `portal demo-data` starts worker processes that import this module.
if __name__ == "__main__":
    main()
