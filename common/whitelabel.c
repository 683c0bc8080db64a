/* whitelabel.c: provider names by audience. */
#include "common/whitelabel.h"

#include <string.h>

#include "common/config.h"

int whitelabel_is_platform(const char *s) {
	return s != NULL && (strcmp(s, "retell") == 0 || strcmp(s, "highlevel") == 0);
}

const char *whitelabel_provider_name(const struct config *cfg, int is_admin,
				     const char *source_platform) {
	if (source_platform != NULL && strcmp(source_platform, "retell") == 0) {
		return is_admin ? "Retell" : cfg->label_retell;
	}
	if (source_platform != NULL && strcmp(source_platform, "highlevel") == 0) {
		return is_admin ? "HighLevel" : cfg->label_highlevel;
	}
	if (is_admin) {
		return source_platform != NULL ? source_platform : "unknown";
	}
	return "Other";
}
