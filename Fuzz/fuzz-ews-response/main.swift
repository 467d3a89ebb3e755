import FuzzSupport

// The fuzz target for ews-response: see FuzzBodies and scripts/fuzz.sh.
runFuzzTarget(FuzzBodies.ewsResponse)
