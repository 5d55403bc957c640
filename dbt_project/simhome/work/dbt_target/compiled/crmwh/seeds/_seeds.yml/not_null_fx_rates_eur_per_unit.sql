
    
    



select eur_per_unit
from "crm"."staging"."fx_rates"
where eur_per_unit is null


