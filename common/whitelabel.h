/* whitelabel: what a caller may call a provider. Clients see only the configured labels
 * ("Provider A" / "Provider B"); admins and the service role see the real names. */
#ifndef COMMON_WHITELABEL_H
#define COMMON_WHITELABEL_H

struct config;

/* 1 when s is a source_platform value we store: "retell" or "highlevel" (exact, lower case). */
int whitelabel_is_platform(const char *s);

/* The name to show for a calls.source_platform value: for admins "Retell" / "HighLevel", for
 * clients cfg->label_retell / cfg->label_highlevel. A value we do not know is shown as is to
 * admins and as "Other" to clients (it could name a provider). Borrowed: a string literal or
 * the config's, valid for the process. */
const char *whitelabel_provider_name(const struct config *cfg, int is_admin,
				     const char *source_platform);

/* The source_platform value a caller means by the provider name it is shown: for admins
 * "Retell" / "HighLevel" (any case) or the stored value, for clients their label
 * (cfg->label_*, exact; cfg NULL: none). NULL when the name is none of them. */
const char *whitelabel_platform_named(const struct config *cfg, int is_admin, const char *name);

#endif
