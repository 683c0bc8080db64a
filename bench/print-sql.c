// print-sql.c: prints the webhook's persisting statement, so bench/run gives pgbench exactly the
// SQL the function runs (the limit the function is measured against).
#include <stdio.h>

#include "common/inbox.h"

int main(void) {
	puts(inbox_apply_sql());
	return 0;
}
