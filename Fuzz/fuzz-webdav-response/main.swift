import FuzzSupport

// The fuzz target for WebDAV answers: see FuzzBodies and scripts/fuzz.sh.
runFuzzTarget(FuzzBodies.webdavResponse)
