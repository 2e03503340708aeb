"""Linking the registry to Wikidata: ``claimgraph link``.

client     SPARQLWrapper client: User-Agent, timeouts, bounded retries honouring Retry-After
classes    data/wikidata/types.yaml: which Wikidata classes fit each registry type
verify     each linked item exists, is no redirect, and is an instance of an allowed class
reconcile  ranked candidates for unreconciled entities, written for an editor to accept
registry   recording an accepted link (and who, when, how) in the registry file
enrich     labels, descriptions, types and facts of linked items
cache      the committed cache data/wikidata/entities.ttl, written atomically
relay      the SERVICE endpoint pyoxigraph calls for federated queries, forwarding via the client
pipeline   the stage functions the CLI calls: link() and accept()

The build reads only the cache; nothing here runs during a build.
"""
