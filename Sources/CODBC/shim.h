// unixODBC's driver manager API (ODBC 3.x, wide-character entry points).
#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>
