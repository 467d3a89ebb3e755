import FuzzSupport

// The fuzz target for CalDAV/CardDAV answers, vCards and iCalendar objects: see FuzzBodies and scripts/fuzz.sh.
runFuzzTarget(FuzzBodies.caldavResponse)
