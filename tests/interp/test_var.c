/* SPDX-License-Identifier: ISC */
/* Unit tests of the variable table's Korn additions: indexed arrays, typeset attributes, name references and local scopes. */
#include <criterion/criterion.h>
#include <string.h>

#include "shell.h"
#include "var.h"

static void setup(void)
{
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	var_init(env);
}

TestSuite(var, .init = setup);

Test(var, scalar_is_element_zero)
{
	var_set("s", "one", 0);
	struct var *v = var_lookup("s");
	cr_assert_str_eq(var_get_elem(v, 0), "one");
	cr_assert_null(var_get_elem(v, 1));
	cr_assert_eq(var_array_count(v), 1);
	cr_assert_null(v->arr, "a plain scalar carries no array");
}

Test(var, sparse_elements_in_index_order)
{
	var_set_elem("a", 9, "nine");
	var_set_elem("a", 3, "three");
	var_set_elem("a", 0, "zero");
	var_set_elem("a", 3, "THREE");
	struct var *v = var_lookup("a");
	cr_assert_eq(var_array_count(v), 3);
	long idx;
	const char *want[] = {"zero", "THREE", "nine"};
	long widx[] = {0, 3, 9};
	for (size_t i = 0; i < 3; i++) {
		cr_assert_str_eq(var_array_nth(v, i, &idx), want[i]);
		cr_assert_eq(idx, widx[i]);
	}
	cr_assert_str_eq(var_get("a"), "zero");
}

Test(var, unset_elements)
{
	char *vals[] = {"x", "y", "z"};
	var_set_array("u", vals, 3, true);
	var_unset_elem("u", 1);
	struct var *v = var_lookup("u");
	cr_assert_eq(var_array_count(v), 2);
	var_unset_elem("u", 0);
	cr_assert_null(var_get("u"), "element 0 unset leaves the others");
	cr_assert_eq(var_array_count(var_lookup("u")), 1);
	var_unset("u");
	cr_assert_null(var_lookup("u"));
}

Test(var, set_plus_A_keeps_tail)
{
	char *a[] = {"1", "2", "3"}, *b[] = {"x"};
	var_set_array("p", a, 3, true);
	var_set_array("p", b, 1, false);
	long idx;
	struct var *v = var_lookup("p");
	cr_assert_eq(var_array_count(v), 3);
	cr_assert_str_eq(var_array_nth(v, 0, &idx), "x");
	cr_assert_str_eq(var_array_nth(v, 2, &idx), "3");
}

Test(var, integer_and_case_attributes)
{
	cr_assert_eq(var_set_attrs("n", V_INTEGER, 0, 0, 0), 0);
	var_set("n", "6*7", 0);
	cr_assert_str_eq(var_get("n"), "42");
	var_set_attrs("n", V_INTEGER, 0, 0, 16);
	cr_assert_str_eq(var_get("n"), "16#2a");
	var_set("w", "MiXeD", 0);
	var_set_attrs("w", V_LOWER, 0, 0, 0);
	cr_assert_str_eq(var_get("w"), "mixed");
	var_set_attrs("w", V_UPPER, 0, 0, 0);
	cr_assert_str_eq(var_get("w"), "MIXED");
	cr_assert_eq(var_lookup("w")->flags & V_LOWER, 0, "-u turns -l off");
}

Test(var, justified_fields)
{
	var_set_attrs("l", V_LJUST, 0, 5, 0);
	var_set("l", "  ab", 0);
	cr_assert_str_eq(var_get("l"), "ab   ");
	var_set_attrs("r", V_RJUST, 0, 3, 0);
	var_set("r", "abcdef", 0);
	cr_assert_str_eq(var_get("r"), "def");
	var_set_attrs("z", V_ZFILL, 0, 4, 0);
	var_set("z", "7", 0);
	cr_assert_str_eq(var_get("z"), "0007");
	var_set_attrs("f", V_LJUST, 0, 0, 0);
	var_set("f", "abc", 0);
	var_set("f", "abcdef", 0);
	cr_assert_str_eq(var_get("f"), "abc", "width taken from the first value");
}

Test(var, attributes_apply_to_elements)
{
	var_set_attrs("e", V_UPPER, 0, 0, 0);
	var_set_elem("e", 4, "low");
	cr_assert_str_eq(var_get_elem(var_lookup("e"), 4), "LOW");
}

Test(var, readonly_attribute_change_refused)
{
	var_set("ro", "1", V_READONLY);
	cr_assert_lt(var_set_attrs("ro", V_INTEGER, 0, 0, 0), 0);
	cr_assert_eq(var_set_attrs("ro", V_EXPORT, 0, 0, 0), 0, "export of a readonly is allowed");
}

Test(var, name_reference)
{
	var_set("target", "t", 0);
	var_setn("ref", 3, "target", V_NAMEREF);
	cr_assert_str_eq(var_get("ref"), "t");
	var_set("ref", "changed", 0);
	cr_assert_str_eq(var_get("target"), "changed");
	cr_assert_str_eq(var_raw_lookup("ref")->text, "ref=target");
	/* A loop of references ends. */
	var_setn("r1", 2, "r2", V_NAMEREF);
	var_setn("r2", 2, "r1", V_NAMEREF);
	(void)var_lookup("r1");
}

Test(var, local_scope_restores_array_and_attributes)
{
	char *vals[] = {"g0", "g1"};
	var_set_array("la", vals, 2, true);
	var_set_attrs("la", V_UPPER, 0, 0, 0);
	var_push_scope();
	cr_assert(var_make_local("la"));
	cr_assert(!var_make_local("la"), "already local");
	cr_assert_eq(var_array_count(var_lookup("la")), 1, "the local starts without the other elements");
	var_set_elem("la", 5, "x");
	var_pop_scope();
	struct var *v = var_lookup("la");
	cr_assert_eq(var_array_count(v), 2);
	cr_assert_str_eq(var_get_elem(v, 1), "G1");
	cr_assert_null(var_get_elem(v, 5));
	cr_assert_neq(v->flags & V_UPPER, 0);
}
