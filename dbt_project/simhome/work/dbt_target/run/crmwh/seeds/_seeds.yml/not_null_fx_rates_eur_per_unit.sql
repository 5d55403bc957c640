
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select eur_per_unit
from "crm"."staging"."fx_rates"
where eur_per_unit is null



  
  
      
    ) dbt_internal_test