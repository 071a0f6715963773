# Apache Superset's configuration for the test suite (tests/src/superset.rs): a SQLite metadata
# database in SUPERSET_HOME, no CSRF on the API, and an access token whose life the test sets
# (HERALD_SUPERSET_JWT_SECONDS) so a token expires mid-test. Facts: ../shared/superset-notes.md.
import datetime
import os

SECRET_KEY = os.environ.get("HERALD_SUPERSET_SECRET_KEY", "herald-test-superset-secret-key-0123456789")
SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(os.environ["SUPERSET_HOME"], "superset.db")
WTF_CSRF_ENABLED = False
JWT_ACCESS_TOKEN_EXPIRES = datetime.timedelta(
    seconds=int(os.environ.get("HERALD_SUPERSET_JWT_SECONDS", "900"))
)
# No example data, no telemetry, nothing fetched from the network.
SUPERSET_LOAD_EXAMPLES = False
FEATURE_FLAGS = {}
PREVENT_UNSAFE_DB_CONNECTIONS = False
