/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "mo-token-store.h"

/**
 * mo_token_store_free:
 * @store: (nullable) (transfer full): a store made by one of the `_new` functions
 *
 * Frees the store through its own free function, whatever kind it is.
 */
void
mo_token_store_free(MoTokenStore *store)
{
	if (store == NULL)
		return;
	store->free(store);
}
