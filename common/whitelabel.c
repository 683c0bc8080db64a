/* whitelabel.c: provider names by audience. */
#include "common/whitelabel.h"

#include <string.h>
#include <strings.h>

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

const char *whitelabel_platform_named(const struct config *cfg, int is_admin, const char *name) {
	static const char *const platforms[] = {"retell", "highlevel"};

	for (size_t i = 0; name != NULL && i < sizeof(platforms) / sizeof(platforms[0]); i++) {
		const char *shown = is_admin	  ? whitelabel_provider_name(cfg, 1, platforms[i])
				    : cfg != NULL ? whitelabel_provider_name(cfg, 0, platforms[i])
						  : NULL;
		if (is_admin ? strcasecmp(name, shown) == 0 || strcmp(name, platforms[i]) == 0
			     : shown != NULL && strcmp(name, shown) == 0) {
			return platforms[i];
		}
	}
	return NULL;
}
