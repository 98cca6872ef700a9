/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-test.h"
#include "mo-token-store.h"

typedef struct {
	MoTokenStore parent;
	guint *n_freed;
} CountingStore;

static void
counting_store_free(MoTokenStore *store)
{
	CountingStore *self = (CountingStore *)store;

	(*self->n_freed)++;
	g_free(self);
}

static MoTokenStore *
counting_store_new(guint *n_freed)
{
	CountingStore *self = g_new0(CountingStore, 1);

	self->n_freed = n_freed;
	self->parent.free = counting_store_free;
	return &self->parent;
}

/* g_autoptr(MoTokenStore) frees any kind of store through its own free function. */
static void
test_autoptr_uses_free_slot(void **state)
{
	guint n_freed = 0;

	{
		g_autoptr(MoTokenStore) store = counting_store_new(&n_freed);
		assert_non_null(store);
	}
	assert_int_equal(n_freed, 1);
	mo_token_store_free(NULL);
	assert_int_equal(n_freed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_autoptr_uses_free_slot),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/token-store", tests, NULL, NULL);
}
