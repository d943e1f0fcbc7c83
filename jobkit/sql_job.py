"""The job script of every SQL asset: runs the query in Pipes extras ``sql`` (see ``jobkit.run_sql``).

Shipped by the platform like any job script (locally on PYTHONPATH, on EMR staged with
``--py-files``), so a team's SQL asset needs no Python of its own.
"""

import jobkit

if __name__ == "__main__":
    jobkit.run_sql()
