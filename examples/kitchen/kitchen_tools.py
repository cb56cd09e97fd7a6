"""The kitchen assistant's tools: recipe search, scaling, nutrition, substitutions and timers."""

from __future__ import annotations

import json
from typing import Literal, TypedDict

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from tools.checked_tool import CheckedTool
from tools.errors import ToolInputError


class Recipe(TypedDict):
    minutes: int
    diets: list[str]
    servings: int
    ingredients: dict[str, tuple[float, str]]  # amount, unit
    nutrition: dict[str, int]  # per serving


# The meal kits' recipes.
RECIPES: dict[str, Recipe] = {
    "shakshuka": {"minutes": 25, "diets": ["vegetarian", "gluten_free"], "servings": 2,
                  "ingredients": {"eggs": (4, ""), "canned tomatoes": (400, "g"), "onion": (1, ""),
                                  "red pepper": (1, ""), "cumin": (1, "tsp")},
                  "nutrition": {"kcal": 310, "protein_g": 17, "carbs_g": 22, "fat_g": 17}},
    "mushroom risotto": {"minutes": 40, "diets": ["vegetarian", "gluten_free"], "servings": 4,
                         "ingredients": {"arborio rice": (320, "g"), "mushrooms": (400, "g"), "stock": (1.2, "l"),
                                         "parmesan": (60, "g"), "butter": (40, "g")},
                         "nutrition": {"kcal": 520, "protein_g": 15, "carbs_g": 70, "fat_g": 18}},
    "chickpea curry": {"minutes": 30, "diets": ["vegetarian", "vegan", "gluten_free"], "servings": 4,
                       "ingredients": {"chickpeas": (800, "g"), "coconut milk": (400, "ml"), "spinach": (200, "g"),
                                       "curry paste": (3, "tbsp"), "rice": (300, "g")},
                       "nutrition": {"kcal": 560, "protein_g": 18, "carbs_g": 74, "fat_g": 21}},
    "banana bread": {"minutes": 70, "diets": ["vegetarian"], "servings": 10,
                     "ingredients": {"bananas": (3, ""), "flour": (250, "g"), "sugar": (120, "g"),
                                     "butter": (100, "g"), "eggs": (2, "")},
                     "nutrition": {"kcal": 260, "protein_g": 4, "carbs_g": 40, "fat_g": 10}},
    "pad thai": {"minutes": 30, "diets": [], "servings": 2,
                 "ingredients": {"rice noodles": (200, "g"), "shrimp": (200, "g"), "eggs": (2, ""),
                                 "peanuts": (40, "g"), "tamarind paste": (2, "tbsp")},
                 "nutrition": {"kcal": 640, "protein_g": 32, "carbs_g": 78, "fat_g": 22}},
    "lemon chicken": {"minutes": 45, "diets": ["gluten_free"], "servings": 4,
                      "ingredients": {"chicken thighs": (8, ""), "lemons": (2, ""), "garlic": (4, "cloves"),
                                      "potatoes": (800, "g"), "olive oil": (3, "tbsp")},
                      "nutrition": {"kcal": 590, "protein_g": 41, "carbs_g": 35, "fat_g": 31}},
    "minestrone": {"minutes": 50, "diets": ["vegetarian", "vegan"], "servings": 6,
                   "ingredients": {"cannellini beans": (400, "g"), "pasta": (150, "g"), "carrots": (2, ""),
                                   "celery": (2, "stalks"), "canned tomatoes": (800, "g")},
                   "nutrition": {"kcal": 280, "protein_g": 11, "carbs_g": 48, "fat_g": 5}},
    "pancakes": {"minutes": 20, "diets": ["vegetarian"], "servings": 4,
                 "ingredients": {"flour": (200, "g"), "milk": (300, "ml"), "eggs": (2, ""),
                                 "butter": (30, "g"), "baking powder": (2, "tsp")},
                 "nutrition": {"kcal": 330, "protein_g": 10, "carbs_g": 45, "fat_g": 12}},
}

SUBSTITUTES: dict[str, list[str]] = {
    "eggs": ["1 tbsp ground flaxseed + 3 tbsp water per egg", "60 g mashed banana per egg (baking)"],
    "butter": ["the same weight of olive oil (savoury)", "coconut oil, 80 % of the weight (baking)"],
    "milk": ["oat milk, same volume", "soy milk, same volume"],
    "parmesan": ["nutritional yeast, 2 tbsp per 30 g", "pecorino, same weight"],
    "shrimp": ["firm tofu, same weight", "chicken thighs, sliced"],
    "flour": ["a gluten-free flour blend, same weight"],
    "coconut milk": ["cream, same volume", "greek yogurt, stirred in off the heat"],
    "peanuts": ["cashews, same weight", "toasted sunflower seeds"],
}

Diet = Literal["any", "vegetarian", "vegan", "gluten_free"]


def _recipe(name: str) -> tuple[str, Recipe]:
    key = name.strip().lower()
    if key not in RECIPES:
        raise ToolInputError(f"no recipe {name!r}; recipes: {', '.join(RECIPES)}")
    return key, RECIPES[key]


class FindRecipesArgs(BaseModel):
    ingredients: list[str] = Field(default_factory=list, description="ingredients the dish should use, e.g. ['eggs']")
    max_minutes: int | None = Field(None, ge=1, le=600, description="longest total cooking time, in minutes")
    diet: Diet = Field("any", description="a diet every recipe must fit")


def find_recipes_text(ingredients: list[str] | None = None, max_minutes: int | None = None, diet: Diet = "any") -> str:
    wanted = [i.strip().lower() for i in ingredients or []]
    found = [
        {"recipe": name, "minutes": r["minutes"], "servings": r["servings"]}
        for name, r in RECIPES.items()
        if (max_minutes is None or r["minutes"] <= max_minutes)
        and (diet == "any" or diet in r["diets"])
        and all(any(w in ing for ing in r["ingredients"]) for w in wanted)
    ]
    return json.dumps({"recipes": found})


class ScaleRecipeArgs(BaseModel):
    recipe: str = Field(description="the recipe's name, e.g. 'pancakes'")
    servings: int = Field(ge=1, le=100, description="how many servings to cook")


def scale_recipe_text(recipe: str, servings: int) -> str:
    key, r = _recipe(recipe)
    factor = servings / r["servings"]
    amounts = {ing: f"{round(qty * factor, 2):g} {unit}".strip() for ing, (qty, unit) in r["ingredients"].items()}
    return json.dumps({"recipe": key, "servings": servings, "ingredients": amounts})


class NutritionArgs(BaseModel):
    recipe: str = Field(description="the recipe's name, e.g. 'minestrone'")


def nutrition_facts_text(recipe: str) -> str:
    key, r = _recipe(recipe)
    return json.dumps({"recipe": key, "per_serving": r["nutrition"]})


class SubstituteArgs(BaseModel):
    ingredient: str = Field(description="the ingredient to replace, e.g. 'butter'")


def substitute_ingredient_text(ingredient: str) -> str:
    options = SUBSTITUTES.get(ingredient.strip().lower())
    if options is None:
        raise ToolInputError(f"no substitute listed for {ingredient!r}")
    return json.dumps({"ingredient": ingredient, "substitutes": options})


class TimerArgs(BaseModel):
    minutes: float = Field(gt=0, le=720, description="how long the timer runs, in minutes")
    label: str = Field("", description="what the timer is for, e.g. 'pasta'")


def set_timer_text(minutes: float, label: str = "") -> str:
    return json.dumps({"timer": label or "timer", "minutes": minutes, "status": "started"})


TOOLS: list[BaseTool] = [
    CheckedTool.from_function(func=find_recipes_text, name="find_recipes", args_schema=FindRecipesArgs,
                              description="Find meal-kit recipes by ingredients, total time and diet.",
                              metadata={"version": "1", "ttl": 3600}),
    CheckedTool.from_function(func=scale_recipe_text, name="scale_recipe", args_schema=ScaleRecipeArgs,
                              description="A meal-kit recipe's ingredient amounts for a number of servings.",
                              metadata={"version": "1", "ttl": 3600}),
    CheckedTool.from_function(func=nutrition_facts_text, name="nutrition_facts", args_schema=NutritionArgs,
                              description="Calories, protein, carbs and fat per serving of a meal-kit recipe.",
                              metadata={"version": "1", "ttl": 3600}),
    CheckedTool.from_function(func=substitute_ingredient_text, name="substitute_ingredient",
                              args_schema=SubstituteArgs,
                              description="Replacements for an ingredient the cook lacks or cannot eat.",
                              metadata={"version": "1", "ttl": 3600}),
    CheckedTool.from_function(func=set_timer_text, name="set_timer", args_schema=TimerArgs,
                              description="Start a kitchen timer for a number of minutes.",
                              metadata={"version": "1", "ttl": 0}),
]  # fmt: skip
