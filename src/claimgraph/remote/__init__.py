"""Remote triple stores: publishing a build over the Graph Store Protocol (or SPARQL Update),
incrementally and safely, and querying a remote SPARQL endpoint.

Modules: ``auth`` (credentials from the environment or netrc), ``http`` (timeouts, retries),
``graphs`` (a build's named graphs and their content hashes), ``state`` (what the last publish
left in the store), ``stores`` (Graph Store Protocol and SPARQL Update writers), ``publish``
(plan, guard, send, verify), ``sparql`` (``RemoteSparql``, the query client the web app and
``claimgraph query --endpoint`` use).
"""

from claimgraph.remote.auth import Credentials, find_credentials
from claimgraph.remote.errors import PublishFailed, PublishRefused, RemoteAuthError, RemoteError
from claimgraph.remote.graphs import LocalBuild, LocalGraph, read_build
from claimgraph.remote.http import RetryPolicy, StoreClient
from claimgraph.remote.publish import PublishReport, format_report, publish, verify_graphs
from claimgraph.remote.sparql import RemoteSparql, Solutions, bind_values
from claimgraph.remote.stores import GraphStoreProtocol, SparqlUpdate

__all__ = ["Credentials", "GraphStoreProtocol", "LocalBuild", "LocalGraph", "PublishFailed",
           "PublishRefused", "PublishReport", "RemoteAuthError", "RemoteError", "RemoteSparql",
           "RetryPolicy", "Solutions", "SparqlUpdate", "StoreClient", "bind_values", "find_credentials",
           "format_report", "publish", "read_build", "verify_graphs"]
