// The PouchDB client used by both PouchDB scripts: pouchdb-core with the in-memory
// adapter (local databases), the HTTP adapter (the remote) and replication.
import PouchDB from "pouchdb-core"
import memory from "pouchdb-adapter-memory"
import http from "pouchdb-adapter-http"
import replication from "pouchdb-replication"

PouchDB.plugin(memory).plugin(http).plugin(replication)
export default PouchDB
