/* registry: every provider, one line each. */
#include "providers/registry.h"

extern const struct provider_ops provider_aws_static, provider_exec;
extern const struct provider_ops provider_aws_session_token,
    provider_aws_assume_role, provider_aws_web_identity, provider_aws_sso;
extern const struct provider_ops provider_gcp_service_account;
extern const struct provider_ops provider_gcp_impersonate;
extern const struct provider_ops provider_gcp_external_account;
extern const struct provider_ops provider_gcp_authorized_user;
extern const struct provider_ops provider_vault;
extern const struct provider_ops provider_oauth2, provider_oidc_issuer,
    provider_github_actions, provider_token_env;
extern const struct provider_ops provider_azure_client,
    provider_azure_managed_identity, provider_azure_keyvault;

const struct provider_ops *const providers_all[] = {
    &provider_aws_static,	 &provider_exec,
    &provider_aws_session_token, &provider_aws_assume_role,
    &provider_aws_web_identity,	 &provider_aws_sso,
    &provider_gcp_service_account,
    &provider_gcp_impersonate,
    &provider_gcp_external_account,
    &provider_gcp_authorized_user,
    &provider_vault, /* providers/vault */
    &provider_oauth2,
    &provider_oidc_issuer,
    &provider_github_actions,
    &provider_token_env,
    &provider_azure_client,
    &provider_azure_managed_identity,
    &provider_azure_keyvault,
    NULL,
};

const struct provider_ops *provider_find(const char *name)
{
	return provider_lookup(providers_all, name);
}
